//! Whether an attachment name is an executable, seeing through the tricks used to hide one:
//! double extensions, trailing dots and spaces, mixed case, bidirectional controls (the
//! right-to-left override), zero-width characters and full-width look-alikes.
//!
//! A name is judged twice:
//! - **real** ([`MatchBasis::Real`]): what Windows runs. The last path component, with the
//!   bidirectional control characters removed (they only steer display), trailing dots and
//!   spaces trimmed (Windows drops them), then the text after the last `.`, compared
//!   case-insensitively. `invoice\u{202E}fdp.exe` (shown as `invoiceexe.pdf`) is a real `exe`.
//! - **displayed** ([`MatchBasis::Displayed`]): what the reader sees. The right-to-left
//!   override's run (to the next PDF / PDI or the end) is reversed, other invisible characters
//!   are removed, full-width ASCII is folded (`．ｅｘｅ` → `.exe`), trailing dots and whitespace
//!   are trimmed. `report\u{202E}exe.pdf` is shown as `reportfdp.exe`: Windows opens it as a
//!   PDF, but a name made to look executable is deliberate deception and is flagged too, as is
//!   `invoice.e\u{200B}xe`.
//!
//! [`executable_extension`] flags both; [`executable_match`] says which, so a rule that only
//! wants runnable files can keep [`MatchBasis::Real`]. The display model is deliberately
//! simple: it handles the override characters, not the full Unicode bidirectional algorithm
//! (right-to-left letters reordering neutral characters around them are not modelled).

use super::from::{fold_to_ascii, is_invisible};

/// The executable extensions of SPEC §5.4, the default for the `mail.executable_attachment`
/// rule's list.
pub const DEFAULT_EXECUTABLE_EXTENSIONS: &[&str] = &[
    "exe", "com", "scr", "pif", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta",
    "msi", "dll", "cpl", "jar", "ps1", "lnk",
];

/// Which reading of a name showed the executable extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchBasis {
    /// The extension the operating system uses: the file really is executable.
    Real,
    /// Only the extension the reader sees: the name is made to look executable.
    Displayed,
}

/// A disguise seen in a name that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trick {
    /// Another extension before the executable one (`invoice.pdf.exe`).
    DoubleExtension,
    /// Trailing dots or spaces after the extension (`a.exe. . `).
    TrailingDotsOrSpaces,
    /// An extension in mixed case (`A.ExE`).
    MixedCase,
    /// Bidirectional control characters, such as the right-to-left override U+202E.
    BidiControl,
    /// Zero-width or other invisible characters.
    ZeroWidth,
    /// Full-width look-alikes of ASCII (`．ｅｘｅ`).
    FullWidth,
}

impl Trick {
    /// A short stable name for output (`double_extension`, `bidi_control`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Trick::DoubleExtension => "double_extension",
            Trick::TrailingDotsOrSpaces => "trailing_dots_or_spaces",
            Trick::MixedCase => "mixed_case",
            Trick::BidiControl => "bidi_control",
            Trick::ZeroWidth => "zero_width",
            Trick::FullWidth => "full_width",
        }
    }
}

/// An attachment name found executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutableMatch {
    /// The executable extension, lowercase, without the dot.
    pub extension: String,
    /// Whether it is the real or only the displayed extension.
    pub basis: MatchBasis,
    /// The disguises seen in the name, in the order of [`Trick`]'s variants.
    pub tricks: Vec<Trick>,
}

/// The executable extension of `name`, real or displayed (see the module documentation), if
/// it is in `extensions` (compared case-insensitively; a leading dot is allowed). `None` for
/// `report.exe.pdf` and for a name without an extension.
pub fn executable_extension<S: AsRef<str>>(name: &str, extensions: &[S]) -> Option<String> {
    executable_match(name, extensions).map(|m| m.extension)
}

/// Like [`executable_extension`], saying whether the real or only the displayed extension is
/// executable and which tricks the name uses. The real reading wins when both match.
pub fn executable_match<S: AsRef<str>>(name: &str, extensions: &[S]) -> Option<ExecutableMatch> {
    let is_listed = |ext: &str| {
        !ext.is_empty()
            && extensions.iter().any(|e| {
                let e = e.as_ref().trim();
                let e = e.strip_prefix('.').unwrap_or(e);
                e.to_lowercase() == ext
            })
    };
    let name = last_component(name);

    let real: String = name.chars().filter(|c| !is_bidi_control(*c)).collect();
    let real_trimmed = real.trim_end_matches(['.', ' ']);
    let (real_stem, real_ext) = split_extension(real_trimmed);
    let real_ext_lower = real_ext.to_lowercase();

    let shown = displayed(name);
    let shown_trimmed = shown.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let (shown_stem, shown_ext) = split_extension(shown_trimmed);
    let shown_ext_lower = shown_ext.to_lowercase();

    let (basis, stem, ext, ext_lower, trailing) = if is_listed(&real_ext_lower) {
        (
            MatchBasis::Real,
            real_stem,
            real_ext,
            real_ext_lower,
            real_trimmed.len() < real.len(),
        )
    } else if is_listed(&shown_ext_lower) {
        let trailing = shown_trimmed.len() < shown.len();
        (
            MatchBasis::Displayed,
            shown_stem,
            shown_ext,
            shown_ext_lower,
            trailing,
        )
    } else {
        return None;
    };

    let mut tricks = Vec::new();
    if has_extension(stem) {
        tricks.push(Trick::DoubleExtension);
    }
    if trailing {
        tricks.push(Trick::TrailingDotsOrSpaces);
    }
    if ext.chars().any(char::is_uppercase) && ext.chars().any(char::is_lowercase) {
        tricks.push(Trick::MixedCase);
    }
    if name.chars().any(is_bidi_control) {
        tricks.push(Trick::BidiControl);
    }
    if name.chars().any(|c| is_invisible(c) && !is_bidi_control(c)) {
        tricks.push(Trick::ZeroWidth);
    }
    if basis == MatchBasis::Displayed && name.chars().any(|c| fold_to_ascii(c) != c) {
        tricks.push(Trick::FullWidth);
    }
    Some(ExecutableMatch {
        extension: ext_lower,
        basis,
        tricks,
    })
}

/// The part after the last `/` or `\`, unless that is empty.
fn last_component(name: &str) -> &str {
    match name.rsplit(['/', '\\']).next() {
        Some(last) if !last.trim().is_empty() => last,
        _ => name,
    }
}

/// Stem and extension at the last `.`; no dot means no extension.
fn split_extension(name: &str) -> (&str, &str) {
    name.rsplit_once('.').unwrap_or((name, ""))
}

/// Whether `stem` itself ends in something that looks like an extension (1–4 alphanumerics).
fn has_extension(stem: &str) -> bool {
    let (before, ext) = split_extension(stem);
    !before.is_empty()
        && !ext.is_empty()
        && ext.chars().count() <= 4
        && ext.chars().all(char::is_alphanumeric)
}

/// Characters that only steer text direction: LRM, RLM, ALM, embeddings, overrides, isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The name as displayed: each right-to-left override run reversed (to its PDF / PDI or the
/// end), invisible characters removed, full-width ASCII folded.
fn displayed(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<char> = Vec::new();
    let mut depth = 0usize; // right-to-left overrides open
    for c in name.chars() {
        match c {
            '\u{202E}' => depth += 1,
            '\u{202C}' | '\u{2069}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.extend(run.drain(..).rev());
                }
            }
            c if is_invisible(c) => {}
            c if depth > 0 => run.push(fold_to_ascii(c)),
            c => out.push(fold_to_ascii(c)),
        }
    }
    out.extend(run.drain(..).rev());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &str) -> Option<String> {
        executable_extension(name, DEFAULT_EXECUTABLE_EXTENSIONS)
    }

    fn check(name: &str) -> Option<(String, MatchBasis, Vec<Trick>)> {
        executable_match(name, DEFAULT_EXECUTABLE_EXTENSIONS)
            .map(|m| (m.extension, m.basis, m.tricks))
    }

    /// What [`check`] gives for a name that matches as `exe` on `basis`, through `tricks`.
    fn exe(basis: MatchBasis, tricks: &[Trick]) -> Option<(String, MatchBasis, Vec<Trick>)> {
        Some(("exe".into(), basis, tricks.to_vec()))
    }

    #[test]
    fn plain_and_benign() {
        assert_eq!(ext("setup.exe"), Some("exe".into()));
        for name in DEFAULT_EXECUTABLE_EXTENSIONS {
            assert_eq!(ext(&format!("x.{name}")).as_deref(), Some(*name));
        }
        for benign in [
            "report.exe.pdf",
            "invoice.pdf",
            "exe",
            "README",
            "",
            "archive.tar.gz",
            "notes.jsx",
            "請求書.pdf",
        ] {
            assert_eq!(ext(benign), None, "{benign:?}");
        }
    }

    #[test]
    fn double_extension() {
        assert_eq!(check("invoice.pdf.exe"), exe(MatchBasis::Real, &[Trick::DoubleExtension]));
        assert_eq!(ext("請求書.pdf.exe"), Some("exe".into()));
    }

    #[test]
    fn trailing_dots_spaces_and_case() {
        assert_eq!(check("a.exe. . "), exe(MatchBasis::Real, &[Trick::TrailingDotsOrSpaces]));
        assert_eq!(ext("a.exe."), Some("exe".into()));
        assert_eq!(check("A.ExE"), exe(MatchBasis::Real, &[Trick::MixedCase]));
        assert_eq!(ext("INVOICE.SCR"), Some("scr".into()));
    }

    #[test]
    fn right_to_left_override() {
        // Shown as "invoiceexe.pdf"; the real extension is exe.
        assert_eq!(check("invoice\u{202E}fdp.exe"), exe(MatchBasis::Real, &[Trick::BidiControl]));
        // Shown as "reportfdp.exe": opens as a PDF but is made to look executable.
        assert_eq!(check("report\u{202E}exe.pdf"), exe(MatchBasis::Displayed, &[Trick::BidiControl]));
        // A closed override run: "photo_" + "gpj" reversed + ".scr" → shown "photo_jpg.scr".
        assert_eq!(ext("photo_\u{202E}gpj\u{202C}.scr"), Some("scr".into()));
        // The other bidi controls are removed for the real reading.
        for control in [
            '\u{202A}', '\u{202B}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
            '\u{200E}', '\u{200F}',
        ] {
            assert_eq!(
                ext(&format!("a.ex{control}e")),
                Some("exe".into()),
                "{control:?}"
            );
        }
        // Benign: bidi controls in a name that is not executable either way.
        assert_eq!(ext("\u{202B}שלום.pdf"), None);
    }

    #[test]
    fn zero_width_and_full_width() {
        assert_eq!(check("invoice.e\u{200B}xe"), exe(MatchBasis::Displayed, &[Trick::ZeroWidth]));
        assert_eq!(check("invoice．ｅｘｅ"), exe(MatchBasis::Displayed, &[Trick::FullWidth]));
        // A full-width dot before a real extension: the real reading wins.
        assert_eq!(check("請求書．pdf.exe"), exe(MatchBasis::Real, &[]));
        assert_eq!(ext("report.exe．pdf"), None);
    }

    #[test]
    fn configured_lists_and_paths() {
        let custom = vec![".PDF".to_string(), "iso".to_string()];
        assert_eq!(executable_extension("a.pdf", &custom), Some("pdf".into()));
        assert_eq!(executable_extension("a.ISO", &custom), Some("iso".into()));
        assert_eq!(executable_extension("a.exe", &custom), None);
        let empty: Vec<String> = Vec::new();
        assert_eq!(executable_extension("a.exe", &empty), None);
        assert_eq!(ext("C:\\Users\\x\\Desktop\\a.exe"), Some("exe".into()));
        assert_eq!(ext("folder.exe/readme.txt"), None);
    }

    #[test]
    fn trick_names() {
        assert_eq!(Trick::BidiControl.as_str(), "bidi_control");
        assert_eq!(Trick::DoubleExtension.as_str(), "double_extension");
    }
}
