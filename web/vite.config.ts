import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The app is served by `openledger up` at `/` (hash routes, relative assets); in development
// `npm run dev:web` proxies the API to a running node.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  // the intake parsers run here too (to sign what is uploaded): csv-parse's browser build brings its own Buffer
  resolve: { alias: { 'csv-parse/sync': fileURLToPath(new URL('../node_modules/csv-parse/dist/esm/sync.js', import.meta.url)) } },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: Object.fromEntries(['/status', '/datanets', '/factory', '/models', '/inference', '/attribution', '/blobs', '/api-keys', '/v1', '/settlement', '/chain', '/dev', '/governance', '/uploads', '/snapshots', '/contributions', '/agents', '/skills', '/skill-calls', '/x402'].map((p) => [p, 'http://127.0.0.1:8080'])) },
});
