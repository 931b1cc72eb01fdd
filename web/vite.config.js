// The dashboard's build: written into the Python package, which serves it under /dashboard/.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/dashboard/",
  build: {
    // EOSTATION_WEB_OUT lets the build check write elsewhere and compare.
    outDir: process.env.EOSTATION_WEB_OUT || fileURLToPath(new URL("../src/eostation/web/dist", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // One script and one stylesheet: fewer files to compare, nothing loaded lazily.
    rollupOptions: { output: { codeSplitting: false } },
    chunkSizeWarningLimit: 2000,
  },
});
