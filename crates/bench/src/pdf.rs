//! Invoice PDFs: Pitlane's renderer as a whole process (the small
//! `render-invoice` program) beside headless Chromium printing the same invoice from
//! HTML (`--print-to-pdf`), each timed from process start to exit.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pitlane_core::printing::PrintableInvoice;
use pitlane_pdf::sample;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The same invoice as a print-ready HTML page (A4, DejaVu Sans, the table
/// header repeated on every page, page numbers in the margin).
fn html(inv: &PrintableInvoice) -> String {
    let mut h = String::from(
        r#"<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: A4; margin: 15mm 15mm 20mm 15mm; @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt "DejaVu Sans"; } }
body { font: 9pt "DejaVu Sans", sans-serif; margin: 0; }
h1 { font-size: 18pt; text-align: right; margin: 0; } .branch { font-size: 15pt; font-weight: bold; }
table { width: 100%; border-collapse: collapse; } thead { display: table-header-group; }
th { text-align: left; font-size: 8pt; border-bottom: 1.5px solid #555; } td, th { padding: 2px 0; }
.r { text-align: right; } .totals td { text-align: right; } .due { font-size: 11pt; font-weight: bold; }
</style></head><body>"#,
    );
    h.push_str(&format!("<h1>{}</h1><div class=branch>{}</div>", escape(&inv.title), escape(&inv.branch.name)));
    for l in &inv.branch.lines {
        h.push_str(&format!("<div>{}</div>", escape(l)));
    }
    h.push_str("<table style='width:auto;margin-left:auto'>");
    for (k, v) in &inv.facts {
        h.push_str(&format!("<tr><td class=r>{}&nbsp;</td><td class=r><b>{}</b></td></tr>", escape(k), escape(v)));
    }
    h.push_str("</table><p>Bill to<br><b>");
    h.push_str(&escape(&inv.customer.name));
    h.push_str("</b><br>");
    h.push_str(&inv.customer.lines.iter().map(|l| escape(l)).collect::<Vec<_>>().join("<br>"));
    h.push_str("</p><p>Vehicle<br><b>");
    h.push_str(&escape(&inv.vehicle.name));
    h.push_str("</b><br>");
    h.push_str(&inv.vehicle.lines.iter().map(|l| escape(l)).collect::<Vec<_>>().join("<br>"));
    h.push_str("</p><table><thead><tr><th>Description</th><th class=r>Qty</th><th class=r>Unit price</th><th class=r>Tax</th><th class=r>Amount</th></tr></thead><tbody>");
    for l in &inv.lines {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=r>{}</td><td class=r>{}</td><td class=r>{}</td><td class=r>{}</td></tr>",
            escape(&l.description),
            l.quantity,
            l.unit_price,
            l.tax_rate,
            l.amount
        ));
    }
    h.push_str("</tbody></table><table class=totals>");
    for (k, v) in inv.totals.iter().chain(&inv.payments) {
        h.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(v)));
    }
    h.push_str(&format!(
        "<tr class=due><td>{}</td><td>{}</td></tr></table><p><b>Notes</b><br>{}</p><p>{}</p></body></html>",
        escape(&inv.balance_due.0),
        escape(&inv.balance_due.1),
        escape(&inv.notes),
        escape(&inv.footer)
    ));
    h
}

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(str::to_string)
}

fn time(runs: usize, mut once: impl FnMut()) -> Duration {
    let mut all: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            once();
            t.elapsed()
        })
        .collect();
    all.sort();
    super::percentile(&all, 0.5)
}

fn pages(path: &Path) -> String {
    Command::new("pdfinfo")
        .arg(path)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find(|l| l.starts_with("Pages:"))
                .map(|l| l[6..].trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

/// Lines that make `want` pages in Pitlane's layout.
fn lines_for(want: u32) -> usize {
    let mut lines = 10;
    while pitlane_pdf::render(&sample(lines)).expect("render").pages < want {
        lines += 5;
    }
    lines
}

pub fn compare(data: &Path, runs: usize) {
    std::fs::create_dir_all(data).expect("bench data folder");
    let Some(browser) = chromium() else {
        println!("invoice PDF: Chromium is not installed (apt-get install chromium); skipped");
        return;
    };
    // The renderer as its own small program, beside this one.
    let exe = std::env::current_exe().expect("own path").with_file_name("render-invoice");
    if !exe.exists() {
        println!("invoice PDF: build the renderer first: cargo build --release -p pitlane-bench; skipped");
        return;
    }
    println!("invoice PDF, each a whole process, median of {runs} runs ({browser} --headless --print-to-pdf)");
    println!("                         pitlane     chromium      ratio   pitlane size  chromium size  pages (p/c)");
    for (label, want, goal) in [("1 page", 1, 80.0), ("30 pages", 30, 40.0)] {
        let lines = lines_for(want);
        let ours = data.join(format!("invoice-{want}.pdf"));
        let theirs = data.join(format!("invoice-{want}-chromium.pdf"));
        let page = data.join(format!("invoice-{want}.html"));
        std::fs::write(&page, html(&sample(lines))).expect("write html");
        let profile = tempfile_dir(data, want);
        let ours_time = time(runs, || {
            let ok = Command::new(&exe).args([&lines.to_string()]).arg(&ours).status().is_ok_and(|s| s.success());
            assert!(ok, "render-invoice ran");
        });
        let theirs_time = time(runs, || {
            let ok = Command::new(&browser)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-pdf-header-footer",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg(format!("--print-to-pdf={}", theirs.display()))
                .arg(format!("file://{}", page.canonicalize().expect("html path").display()))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chromium printed");
        });
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let ratio = theirs_time.as_secs_f64() / ours_time.as_secs_f64();
        println!(
            "  {label:<10} {:>10.1} ms {:>10.1} ms {:>9.1}x {:>11} B {:>12} B    {}/{}   goal: >= {goal}x{}",
            ours_time.as_secs_f64() * 1000.0,
            theirs_time.as_secs_f64() * 1000.0,
            ratio,
            size(&ours),
            size(&theirs),
            pages(&ours),
            pages(&theirs),
            if want == 1 { ", < 40 KB" } else { "" }
        );
    }
}

fn tempfile_dir(data: &Path, n: u32) -> std::path::PathBuf {
    let dir = data.join(format!("chromium-profile-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("profile dir");
    dir
}
