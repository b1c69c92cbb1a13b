//! `pitlane-gateway-double --key KEY [--port N]`: the gateway double
//! ([`pitlane_gateway::double::GatewayDouble`]) as a process, for end-to-end
//! tests. Prints its URL on stdout and runs until killed.

use std::io::Write;
use std::process::ExitCode;

use pitlane_gateway::double::GatewayDouble;

fn main() -> ExitCode {
    let usage = |message: &str| {
        let _ = writeln!(
            std::io::stderr(),
            "pitlane-gateway-double: {message}\nusage: pitlane-gateway-double --key KEY [--port N]"
        );
        ExitCode::from(2)
    };
    let mut args = std::env::args().skip(1);
    let (mut key, mut port) = (None, 0u16);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--key", Some(k)) if !k.is_empty() => key = Some(k),
            ("--port", Some(p)) => match p.parse() {
                Ok(p) => port = p,
                Err(_) => return usage("--port must be a number from 0 to 65535"),
            },
            _ => return usage(&format!("unexpected argument '{arg}'")),
        }
    }
    let Some(key) = key else { return usage("--key is required") };
    let double = match GatewayDouble::start_on(&key, port) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "pitlane-gateway-double: cannot listen on port {port}: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", double.url());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
