//! `.proto` files compiled in process with protox: the include paths (the
//! files' own directories when none are given), then the built-in files,
//! then protobuf's own; every file opened is recorded with its path and
//! text, and protox's errors become findings at `file:line:col`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use miette::Diagnostic as _;
use protox::file::{
    ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver,
};

use super::{Descriptors, SourceFile, BUILTIN_FILES};
use crate::compile::diagnostic::{Diagnostic, Position};

/// Serves [`BUILTIN_FILES`].
struct BuiltinFiles;

impl FileResolver for BuiltinFiles {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match BUILTIN_FILES.iter().find(|(n, _)| *n == name) {
            Some((name, text)) => File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// A resolver that remembers the path and text of every file it opens, so
/// diagnostics can name them as the user does and point into them.
struct Recording {
    inner: ChainFileResolver,
    seen: Arc<Mutex<HashMap<String, SourceFile>>>,
}

impl FileResolver for Recording {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        self.inner.resolve_path(path)
    }

    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        let file = self.inner.open_file(name)?;
        let entry = SourceFile {
            path: file.path().map(Path::to_owned),
            text: file.source().map(Arc::from),
        };
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), entry);
        Ok(file)
    }
}

/// Compiles `files` (and what they import) with protox, keeping each
/// file's path and text for findings.
pub(super) fn compile_protos(
    files: &[PathBuf],
    includes: &[PathBuf],
) -> Result<Descriptors, Vec<Diagnostic>> {
    let mut includes = includes.to_vec();
    if includes.is_empty() {
        for file in files {
            let dir = file.parent().map(Path::to_owned).unwrap_or_default();
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            if !includes.contains(&dir) {
                includes.push(dir);
            }
        }
    }
    let mut chain = ChainFileResolver::new();
    for include in &includes {
        chain.add(IncludeFileResolver::new(include.clone()));
    }
    chain.add(BuiltinFiles);
    chain.add(GoogleFileResolver::new());
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let mut compiler = protox::Compiler::with_file_resolver(Recording {
        inner: chain,
        seen: Arc::clone(&seen),
    });
    compiler.include_imports(true).include_source_info(true);

    let mut errors = Vec::new();
    for file in files {
        if let Err(e) = std::fs::File::open(file) {
            errors.push(Diagnostic::error(
                file.display().to_string(),
                None,
                format!("cannot read: {e}"),
            ));
            continue;
        }
        if let Err(err) = compiler.open_file(file) {
            let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            errors.push(protox_diagnostic(&err, file, &includes, &seen));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let files = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(Descriptors {
        pool: compiler.descriptor_pool(),
        files,
    })
}

/// Turns a protox error (syntax error, missing import, unknown type...) into
/// a diagnostic at the file and position it names.
fn protox_diagnostic(
    err: &protox::Error,
    opened: &Path,
    includes: &[PathBuf],
    seen: &HashMap<String, SourceFile>,
) -> Diagnostic {
    let file = match err.file() {
        Some(name) => seen
            .get(name)
            .and_then(|f| f.path.clone())
            .or_else(|| includes.iter().map(|i| i.join(name)).find(|p| p.is_file()))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| name.to_owned()),
        None => opened.display().to_string(),
    };
    let position = err
        .labels()
        .and_then(|mut labels| labels.next())
        .and_then(|label| {
            let code = err.source_code()?;
            let contents = code.read_span(label.inner(), 0, 0).ok()?;
            Some(Position {
                line: u32::try_from(contents.line()).ok()? + 1,
                column: u32::try_from(contents.column()).ok()? + 1,
            })
        });
    let mut message = err.to_string();
    if let Some(help) = err.help() {
        message = format!("{message}; {help}");
    }
    Diagnostic::error(file, position, message)
}
