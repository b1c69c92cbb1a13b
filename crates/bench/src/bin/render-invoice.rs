//! `render-invoice LINES OUT`: the sample invoice with LINES lines as a PDF
//! in OUT, one whole process (what `pitlane-bench pdf` times against
//! headless Chromium).

fn main() {
    let mut args = std::env::args().skip(1);
    let lines: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(12);
    let out = args.next().unwrap_or_else(|| "invoice.pdf".into());
    match pitlane_pdf::render(&pitlane_pdf::sample(lines)) {
        Ok(printed) => {
            if let Err(e) = std::fs::write(&out, printed.bytes) {
                eprintln!("render-invoice: {out}: {e}");
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("render-invoice: {e}");
            std::process::exit(1);
        }
    }
}
