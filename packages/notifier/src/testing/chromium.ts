import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Debian's chromium; `.ci/run` installs it. */
const CHROMIUM = process.env.VIGIL_CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

/** How wide a page lays out in a viewport of `width` CSS pixels. */
export interface Layout {
  width: number;
  /** The document's scroll width: more than `clientWidth` means a horizontal scrollbar. */
  scrollWidth: number;
  clientWidth: number;
}

/**
 * Lays `html` out in headless Chromium at each width and measures it. Headless windows are at
 * least 500 px wide, so the page goes into an iframe of exactly that width (a viewport of its
 * own), measured on load and read back with `--dump-dom`.
 */
export async function measureInChromium(html: string, widths: number[]): Promise<Layout[]> {
  const dir = await mkdtemp(join(tmpdir(), "vigil-chromium-"));
  try {
    const frames = widths
      .map((width, i) => `<iframe id="f${i}" width="${width}" height="6000" srcdoc="${attribute(html)}"></iframe>`)
      .join("\n");
    const page = `<!doctype html><html><body>${frames}
<script>
window.addEventListener("load", () => {
  const layouts = ${JSON.stringify(widths)}.map((width, i) => {
    const root = document.getElementById("f" + i).contentDocument.documentElement;
    return { width, scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
  });
  document.body.setAttribute("data-layouts", JSON.stringify(layouts));
});
</script></body></html>`;
    const file = join(dir, "page.html");
    await writeFile(file, page);
    const { stdout } = await run(
      CHROMIUM,
      [...FLAGS, `--user-data-dir=${join(dir, "profile")}`, "--window-size=1400,6200", "--dump-dom", `file://${file}`],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const match = /data-layouts="([^"]*)"/.exec(stdout);
    if (!match?.[1]) throw new Error("chromium did not report the layout (no data-layouts in its DOM dump)");
    return JSON.parse(match[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&")) as Layout[];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function attribute(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
}
