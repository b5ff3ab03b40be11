import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { HashRouter, Route, Routes } from 'react-router';
import { AccountProvider } from './account.tsx';
import { Layout } from './components/layout.tsx';
import { ConnectPage } from './pages/connect.tsx';
import { DatanetsPage } from './pages/datanets.tsx';
import { DatanetPage } from './pages/datanet.tsx';
import { FactoryPage } from './pages/factory.tsx';
import { JobPage } from './pages/job.tsx';
import { PlaygroundPage } from './pages/playground.tsx';
import { RewardsPage } from './pages/rewards.tsx';
import { GovernancePage } from './pages/governance.tsx';
import { ExplorerPage } from './pages/explorer.tsx';
import { MarketplacePage } from './pages/marketplace.tsx';
import { SkillPage } from './pages/skill.tsx';
import { SkillCallPage } from './pages/skill-call.tsx';
import { AgentPage } from './pages/agent.tsx';
import './styles.css';

const queryClient = new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <AccountProvider>
        <HashRouter>
          <Layout>
            <Routes>
              <Route path="/" element={<ConnectPage />} />
              <Route path="/datanets" element={<DatanetsPage />} />
              <Route path="/datanets/:id" element={<DatanetPage />} />
              <Route path="/factory" element={<FactoryPage />} />
              <Route path="/factory/jobs/:id" element={<JobPage />} />
              <Route path="/playground" element={<PlaygroundPage />} />
              <Route path="/marketplace" element={<MarketplacePage />} />
              <Route path="/marketplace/skills/:id" element={<SkillPage />} />
              <Route path="/marketplace/calls/:id" element={<SkillCallPage />} />
              <Route path="/marketplace/agents/:name" element={<AgentPage />} />
              <Route path="/rewards" element={<RewardsPage />} />
              <Route path="/governance" element={<GovernancePage />} />
              <Route path="/explorer" element={<ExplorerPage />} />
            </Routes>
          </Layout>
        </HashRouter>
      </AccountProvider>
    </QueryClientProvider>
  </StrictMode>,
);
