import { Card } from '../components/states.tsx';
import { JobList } from './factory/job-list.tsx';
import { JobWizard } from './factory/wizard.tsx';

/** ModelFactory: start a LoRA fine-tuning job on datanet snapshots, and follow the node's jobs. */
export function FactoryPage() {
  return (
    <>
      <h1>ModelFactory</h1>
      <Card title="Fine-tune a model">
        <JobWizard />
      </Card>
      <Card title="Training jobs">
        <JobList />
      </Card>
    </>
  );
}
