// Some packages ship fonts and images inside their CSS as data: URIs (GraphiQL's fonts do).
// The CSP allows only 'self', so after bundling every such URI becomes a file of its own,
// named by its content hash (deterministic), and the CSS points to it.
import { createHash } from "node:crypto";
import type { Plugin } from "vite";

interface Asset {
  type: "asset";
  fileName: string;
  source: string | Uint8Array;
}

const DATA_URI = /url\(\s*(["']?)data:([a-z]+\/[a-z0-9.+-]+)(;[^,]*)?,([^"')]*)\1\s*\)/gi;
const EXTENSIONS: Record<string, string> = {
  "font/woff2": "woff2",
  "font/woff": "woff",
  "font/ttf": "ttf",
  "application/font-woff": "woff",
  "image/svg+xml": "svg",
  "image/png": "png",
  "image/gif": "gif",
};

export function selfHostedDataUris(): Plugin {
  return {
    name: "self-hosted-data-uris",
    apply: "build",
    generateBundle(_options, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type !== "asset" || !file.fileName.endsWith(".css")) continue;
        const asset = file as Asset;
        const css = typeof asset.source === "string" ? asset.source : Buffer.from(asset.source).toString("utf8");
        const rewritten = css.replace(DATA_URI, (_match, _quote, mime: string, params = "", payload: string) => {
          const base64 = /;base64/i.test(params);
          const bytes = base64 ? Buffer.from(payload, "base64") : Buffer.from(decodeURIComponent(payload));
          const ext = EXTENSIONS[mime.toLowerCase()] ?? "bin";
          const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 10);
          const fileName = `assets/inline-${hash}.${ext}`;
          if (!(fileName in bundle)) {
            this.emitFile({ type: "asset", fileName, source: bytes });
          }
          return `url(./inline-${hash}.${ext})`;
        });
        asset.source = rewritten;
      }
    },
  };
}
