import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The console renderer: built to out/renderer with relative asset paths, so it loads from the
// Electron custom protocol and from `countersign serve` alike.
export default defineConfig({
  root: 'src-renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../out/renderer', emptyOutDir: true },
  server: { port: 5173, strictPort: true },
});
