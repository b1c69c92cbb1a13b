//! Tauri's build step: reads ../tauri.conf.json (beside the root
//! Cargo.toml), the capabilities and the app's own permission (`allow-call`,
//! src-tauri/permissions), so the webview may call the one command only
//! where a capability grants it.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().permissions_path_pattern("src-tauri/permissions/**/*"));
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
