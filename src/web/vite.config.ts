import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

/**
 * The dashboard's own build: `npm run build:web` (run by `npm install` through `prepare`) writes
 * dist/web, which the hub serves. `npx vite --config src/web/vite.config.ts` is a dev server that
 * proxies the API and socket.io to a hub on :8080.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [vue()],
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      '/api': 'http://localhost:8080',
      '/socket.io': { target: 'ws://localhost:8080', ws: true },
    },
  },
})
