import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The SDK is imported as a partner would (`@streamline/cross-app-sdk`), resolved here to
// its TypeScript source in this repository: `npm ci` works from a fresh clone without
// building or packing the SDK first, and an edit to the SDK shows up in `npm run dev`.
// A partner's app has none of this: `npm install @streamline/cross-app-sdk`.
const sdk = (file: string) => fileURLToPath(new URL(`../../sdk/js/src/${file}`, import.meta.url));

// The back end (Flask, server/app.py) that `npm run dev` forwards the API to.
const backEnd = process.env.PARTNER_BACKEND_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^@streamline\/cross-app-sdk\/react$/, replacement: sdk('react.ts') },
      { find: /^@streamline\/cross-app-sdk$/, replacement: sdk('index.ts') },
    ],
    // The SDK's source lives outside this project: its `react` import must be ours.
    dedupe: ['react', 'react-dom'],
  },
  server: {
    port: 5173,
    strictPort: true,
    fs: { allow: ['.', '../../sdk/js/src'] },
    proxy: { '/api': backEnd, '/config.json': backEnd },
  },
  build: {
    rollupOptions: {
      input: { main: 'index.html', callback: 'callback.html' },
    },
  },
});
