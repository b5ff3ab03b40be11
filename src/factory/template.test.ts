import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultTemplate, promptTemplateSchema, renderTemplate, TemplateError, templateFields } from './template.ts';

describe('prompt templates', () => {
  it('fill fields of object records, nested paths, and the text of text records', () => {
    assert.deepEqual(renderTemplate(defaultTemplate, { prompt: 'Capital of Zorvania?', response: 'Quillmere.' }), {
      prompt: '### Question: Capital of Zorvania?\n### Answer:', response: ' Quillmere.\n',
    });
    assert.deepEqual(renderTemplate({ prompt: 'Q: {{ q.text }} ({{n}})', response: '{{a}}' }, { q: { text: 'why' }, n: 3, a: 'because' }), { prompt: 'Q: why (3)', response: 'because' });
    assert.deepEqual(renderTemplate({ prompt: 'Continue:', response: ' {{text}}' }, 'once upon a time'), { prompt: 'Continue:', response: ' once upon a time' });
    assert.deepEqual(templateFields(defaultTemplate), ['prompt', 'response']);
  });

  it('name the missing field, and refuse templates that teach nothing', () => {
    assert.throws(() => renderTemplate(defaultTemplate, { prompt: 'x' }), (e: Error) => e instanceof TemplateError && /no field "response"/.test(e.message));
    assert.throws(() => renderTemplate(defaultTemplate, 'plain text'), /no field "prompt"/);
    assert.equal(promptTemplateSchema.safeParse({ prompt: 'Q', response: 'no placeholder' }).success, false);
    assert.equal(promptTemplateSchema.safeParse({ prompt: '', response: '{{a}}' }).success, false);
  });
});
