import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The UI is one static bundle: served by the Tauri shell (custom protocol)
// and by browser mode (`pitlane serve`) from ui/dist.
export default defineConfig({
  root: "ui",
  base: "./",
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 1420, strictPort: true, host: "127.0.0.1" },
  build: {
    outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false, chunkSizeWarningLimit: 1500,
    // The webview and Chromium both support modulepreload: no polyfill in the first bundle.
    modulePreload: { polyfill: false },
  },
});
