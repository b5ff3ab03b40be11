import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatPrompt, ChatTemplateError } from './chat-template.ts';

describe('chatPrompt', () => {
  it('lays a chat out as the question/answer template ModelFactory trains with', () => {
    assert.equal(chatPrompt(undefined, [{ role: 'user', content: 'What is two plus two?' }]), '### Question: What is two plus two?\n### Answer:');
    assert.equal(
      chatPrompt(undefined, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi?' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Who?' }]),
      'Be brief.\n### Question: Hi?\n### Answer: Hello.\n### Question: Who?\n### Answer:',
    );
  });

  it("renders a model's own Jinja chat template with the generation prompt", () => {
    const chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    assert.equal(chatPrompt({ chat_template: chatml }, [{ role: 'user', content: 'Hi' }]), '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    assert.equal(chatPrompt({ chat_template: '{{ bos_token }}{{ messages[0].content }}', bos_token: { content: '<s>' } }, [{ role: 'user', content: 'x' }]), '<s>x');
  });

  it('refuses a chat without a user message and reports a broken template', () => {
    assert.throws(() => chatPrompt(undefined, [{ role: 'system', content: 'x' }]), ChatTemplateError);
    assert.throws(() => chatPrompt({ chat_template: '{% for %}' }, [{ role: 'user', content: 'x' }]), /chat template failed/);
  });
});
