import { defineConfig } from 'vite';

// Library mode: ESM only, two entry points, no runtime dependencies (react is a peer).
export default defineConfig({
  build: {
    lib: {
      entry: { index: 'src/index.ts', react: 'src/react.ts' },
      formats: ['es'],
    },
    target: 'es2022',
    // Readable ESM: the app's bundler minifies; the build measures the minified size.
    minify: false,
    sourcemap: true,
    emptyOutDir: true,
    rollupOptions: { external: ['react', 'react/jsx-runtime'] },
  },
});
