// The console build: three static pages (CCN, CRN, API docs) and their hashed assets, served by
// the nodes under /console/ (no CDN: everything the pages load comes from the node).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: here('../dist'),
    emptyOutDir: true,
    // No inline module-preload polyfill: the pages' CSP allows scripts from the node only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rollupOptions: { input: { ccn: here('ccn.html'), crn: here('crn.html'), docs: here('docs.html') } },
  },
});
