/**
 * The operator console's build: `pnpm build:console` (also part of `pnpm build`) writes
 * services/kbs/console/dist, which the KBS serves under /console. Everything is bundled from
 * this folder: no CDN, no external font, no inline script (the KBS sends a strict CSP).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
