import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Relative asset URLs so the engine can serve the build from any path; no inline scripts or styles
// so the engine's strict Content-Security-Policy needs no exceptions.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rollupOptions: {
      onLog(level, log, handler) {
        // zod ships comments Rollup cannot place; harmless and not ours to fix.
        if (log.code === 'INVALID_ANNOTATION' && log.id?.includes('node_modules')) return;
        handler(level, log);
      },
    },
  },
});
