import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The app is served by `openledger up` at `/` (hash routes, relative assets); in development
// `npm run dev:web` proxies the API to a running node.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: Object.fromEntries(['/status', '/datanets', '/factory', '/models', '/inference', '/attribution', '/blobs', '/api-keys', '/v1', '/settlement', '/chain', '/dev', '/governance', '/uploads', '/snapshots', '/contributions'].map((p) => [p, 'http://127.0.0.1:8080'])) },
});
