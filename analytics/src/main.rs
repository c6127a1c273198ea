use clap::Parser;

fn main() -> std::process::ExitCode {
    if let Err(e) = settings_from_files() {
        eprintln!("halftone-analytics: {e}");
        return std::process::ExitCode::from(2);
    }
    let config = halftone_analytics::Config::parse();
    halftone_analytics::init_tracing(config.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(halftone_analytics::run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Docker and systemd secrets: `HALFTONE_ANALYTICS_X_FILE` names a file whose
/// content becomes `HALFTONE_ANALYTICS_X` (one trailing newline dropped),
/// before the settings are read. Runs first, while there is one thread.
fn settings_from_files() -> Result<(), String> {
    let files: Vec<(String, String)> = std::env::vars()
        .filter_map(|(name, path)| {
            let setting = name
                .strip_prefix("HALFTONE_ANALYTICS_")
                .and_then(|s| s.strip_suffix("_FILE"))?;
            Some((format!("HALFTONE_ANALYTICS_{setting}"), path))
        })
        .collect();
    for (setting, path) in files {
        let value = std::fs::read_to_string(&path)
            .map_err(|e| format!("{setting}_FILE: cannot read {path}: {e}"))?;
        let value = value.strip_suffix('\n').unwrap_or(&value);
        std::env::set_var(setting, value.strip_suffix('\r').unwrap_or(value));
    }
    Ok(())
}
