//! All printing goes through here: human text to stdout, prompts and
//! progress to stderr, logs (tracing) to stderr. Colors only on a terminal
//! and without NO_COLOR; progress bars only on a terminal; in JSON mode
//! stdout carries exactly one JSON document.

use std::cell::Cell;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressStyle, WeakProgressBar};
use serde::Serialize;

use crate::config::Diagnostic;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Good,
    Warn,
    Bad,
    Dim,
    Bold,
}

/// What the command line asks of the output. `cli` fills it in, so this
/// module knows nothing of how the flags are spelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// stdout carries exactly one JSON document.
    pub json: bool,
    /// Only results and errors: no progress or informational lines.
    pub quiet: bool,
    /// Never use colors (NO_COLOR in the environment counts too).
    pub no_color: bool,
}

pub struct Ui {
    json: bool,
    quiet: bool,
    color_out: bool,
    color_err: bool,
    stderr_tty: bool,
    stdin_tty: bool,
    /// The reader of stdout went away (`webtier plan | head`): the command
    /// still finishes its work and returns its real exit code; what it
    /// would have printed is dropped.
    stdout_closed: Cell<bool>,
}

impl Ui {
    pub fn new(options: Options) -> Ui {
        let no_color =
            options.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stdout_tty = io::stdout().is_terminal();
        let stderr_tty = io::stderr().is_terminal();
        Ui {
            json: options.json,
            quiet: options.quiet,
            color_out: stdout_tty && !no_color,
            color_err: stderr_tty && !no_color,
            stderr_tty,
            stdin_tty: io::stdin().is_terminal(),
            stdout_closed: Cell::new(false),
        }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// `-q`: results and errors only.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn color_stderr(&self) -> bool {
        self.color_err
    }

    pub fn stdin_is_terminal(&self) -> bool {
        self.stdin_tty
    }

    fn style(&self, tone: Tone, for_stdout: bool) -> Style {
        let style = match tone {
            Tone::Plain => Style::new(),
            Tone::Good => Style::new().green(),
            Tone::Warn => Style::new().yellow(),
            Tone::Bad => Style::new().red(),
            Tone::Dim => Style::new().dim(),
            Tone::Bold => Style::new().bold(),
        };
        let enabled = if for_stdout {
            self.color_out
        } else {
            self.color_err
        };
        style.force_styling(enabled)
    }

    /// Paints `text` for stdout.
    pub fn paint(&self, tone: Tone, text: &str) -> String {
        self.style(tone, true).apply_to(text).to_string()
    }

    /// A line of the command's result on stdout. Suppressed in JSON mode,
    /// where the JSON document is the whole result.
    pub fn out(&self, line: &str) -> anyhow::Result<()> {
        if self.is_json() {
            return Ok(());
        }
        self.write_stdout(format_args!("{line}\n"))
    }

    /// A line of informational text on stdout: suppressed by -q and in JSON
    /// mode.
    pub fn info(&self, line: &str) -> anyhow::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.out(line)
    }

    /// Text exactly as given on stdout (generated files: completions, man).
    pub fn raw(&self, text: &str) -> anyhow::Result<()> {
        self.write_stdout(format_args!("{text}"))
    }

    /// The one JSON document of a command.
    pub fn json<T: Serialize>(&self, doc: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(doc)?;
        self.write_stdout(format_args!("{text}\n"))
    }

    /// An error on stderr, one line (plus optional detail lines after it).
    pub fn error(&self, message: &str) {
        let label = self.style(Tone::Bad, false).bold().apply_to("error:");
        write_stderr(format_args!("{label} {message}\n"));
    }

    /// A warning on stderr, one line.
    pub fn warning(&self, message: &str) {
        let label = self.style(Tone::Warn, false).bold().apply_to("warning:");
        write_stderr(format_args!("{label} {message}\n"));
    }

    /// A configuration problem on stderr: the one-line error, then the
    /// offending source line with a marker under the culprit.
    pub fn diagnostic(&self, d: &Diagnostic) {
        self.error(&d.headline());
        if let Some([text, marker]) = d.excerpt_lines() {
            let marker = self.style(Tone::Bad, false).apply_to(marker);
            write_stderr(format_args!("  {text}\n  {marker}\n"));
        }
    }

    /// Asks on the terminal; only the exact answer `yes` approves.
    /// Callers check `stdin_is_terminal` first: this never runs without one.
    pub fn confirm(&self, question: &str) -> anyhow::Result<bool> {
        let bold = self.style(Tone::Bold, false);
        write_stderr(format_args!(
            "{}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
            bold.apply_to(question)
        ));
        let mut answer = String::new();
        io::stdin().lock().read_line(&mut answer)?;
        write_stderr(format_args!("\n"));
        Ok(answer.trim() == "yes")
    }

    /// Progress for one unit of work: a spinner on a terminal (stderr),
    /// nothing otherwise. The outcome is reported with `done`.
    pub fn progress(&self, message: &str) -> Progress {
        let bar = (self.stderr_tty && !self.quiet && !self.is_json()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}")
                    .expect("static template"),
            );
            bar.set_message(message.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.downgrade());
            bar
        });
        if bar.is_none() {
            tracing::info!("{message}");
        }
        Progress { bar }
    }

    /// Like `progress`, for work that changes things: without a terminal
    /// the same event is a plain line on stderr (cron and CI logs show what
    /// was being changed, and for how long if it hangs).
    pub fn change_progress(&self, message: &str) -> Progress {
        let progress = self.progress(message);
        if progress.bar.is_none() && !self.quiet && !self.is_json() {
            write_stderr(format_args!("{message}\n"));
        }
        progress
    }
}

pub struct Progress {
    bar: Option<ProgressBar>,
}

/// The spinner on screen, if any (it no longer upgrades once finished and
/// dropped): log lines are written around it.
static ACTIVE: Mutex<Option<WeakProgressBar>> = Mutex::new(None);

impl Progress {
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs `write` with the spinner, if one is on screen, taken off it and
/// drawn again afterwards: a line written meanwhile starts on a line of
/// its own, and no spinner frame is left stranded above it.
fn around_spinner<R>(write: impl FnOnce() -> R) -> R {
    let bar = ACTIVE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(WeakProgressBar::upgrade);
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Where tracing writes: stderr, around the spinner.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        around_spinner(|| io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

impl Ui {
    fn write_stdout(&self, args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
        if self.stdout_closed.get() {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        match out.write_fmt(args).and_then(|()| out.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.stdout_closed.set(true);
                Ok(())
            }
            Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
        }
    }
}

/// Best effort: a closed stderr must not turn into a panic or an error.
fn write_stderr(args: std::fmt::Arguments<'_>) {
    around_spinner(|| {
        let mut err = io::stderr().lock();
        let _ = err.write_fmt(args).and_then(|()| err.flush());
    });
}
