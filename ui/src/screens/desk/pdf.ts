// The invoice PDF inside the app: pdf.js renders its pages to canvases (an
// iframe of a PDF shows nothing in the Linux webview), and printing puts the
// pages as images into a print-only container before window.print(), so the
// system print dialog prints the invoice and nothing of the screen around it.

import type { PDFDocumentProxy } from "pdfjs-dist";

let lib: Promise<typeof import("pdfjs-dist")> | null = null;

function pdfjs() {
  if (!lib) {
    lib = Promise.all([import("pdfjs-dist"), import("pdfjs-dist/build/pdf.worker.min.mjs?url")]).then(([m, worker]) => {
      m.GlobalWorkerOptions.workerSrc = worker.default;
      return m;
    });
  }
  return lib;
}

/** Opens a PDF given as base64. */
export async function openPdf(base64: string): Promise<PDFDocumentProxy> {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const m = await pdfjs();
  return await m.getDocument({ data: bytes }).promise;
}

/** Draws page `n` (1-based) into a canvas `cssWidth` pixels wide, sharp on this screen. */
export async function drawPage(doc: PDFDocumentProxy, n: number, canvas: HTMLCanvasElement, cssWidth: number, density = window.devicePixelRatio || 1) {
  const page = await doc.getPage(n);
  const base = page.getViewport({ scale: 1 });
  const scale = (cssWidth / base.width) * density;
  const vp = page.getViewport({ scale });
  canvas.width = Math.floor(vp.width);
  canvas.height = Math.floor(vp.height);
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${Math.floor((vp.height / vp.width) * cssWidth)}px`;
  await page.render({ canvas, viewport: vp }).promise;
}

/** Prints the document through the system print dialog. */
export async function printPdf(doc: PDFDocumentProxy, title: string) {
  const box = document.createElement("div");
  box.id = "pl-print";
  const style = document.createElement("style");
  style.textContent = `
    #pl-print { display: none; }
    @media print {
      @page { margin: 0; }
      body > *:not(#pl-print) { display: none !important; }
      #pl-print { display: block; }
      #pl-print img { display: block; width: 100%; page-break-after: always; break-after: page; }
      #pl-print img:last-child { page-break-after: auto; break-after: auto; }
    }`;
  box.appendChild(style);
  for (let n = 1; n <= doc.numPages; n++) {
    const c = document.createElement("canvas");
    // About 200 dpi on a Letter or A4 page.
    await drawPage(doc, n, c, 1700, 1);
    const img = document.createElement("img");
    img.alt = `${title}, page ${n}`;
    img.src = c.toDataURL("image/png");
    await img.decode().catch(() => {});
    box.appendChild(img);
  }
  document.body.appendChild(box);
  const before = document.title;
  document.title = title;
  const cleanup = () => {
    box.remove();
    document.title = before;
    window.removeEventListener("afterprint", cleanup);
  };
  window.addEventListener("afterprint", cleanup);
  window.print();
  // Browsers that do not fire afterprint (print() returned already) still clean up.
  setTimeout(cleanup, 60_000);
}
