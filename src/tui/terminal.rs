//! Taking over the terminal and always giving it back: the [`Tui`] guard enters raw mode
//! and the alternate screen and restores both when dropped; a panic hook (chained after
//! whatever hook was installed before, e.g. color-eyre's) restores the terminal before
//! the panic is printed, so the message is readable and the shell usable.
//!
//! Only a panic on the thread that took the terminal (the wizard's) ends the wizard. A
//! panic elsewhere, e.g. in an engine step on a tokio worker, is caught by tokio and
//! reported by the engine as that step's failure while the wizard keeps drawing: the hook
//! leaves the terminal alone then, and logs the panic instead of printing a crash message
//! over the wizard's screen.

use std::any::Any;
use std::io::{self, Stdout};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once, PoisonError};
use std::thread::{self, ThreadId};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::app::App;
use super::screens::render;

/// The terminal is in raw mode / the alternate screen because of us.
static TAKEN: AtomicBool = AtomicBool::new(false);
/// Mouse capture is on because of us.
static MOUSE_CAPTURED: AtomicBool = AtomicBool::new(false);
/// The thread that took the terminal (the one that draws the wizard).
static OWNER: Mutex<Option<ThreadId>> = Mutex::new(None);

fn owner() -> Option<ThreadId> {
    *OWNER.lock().unwrap_or_else(PoisonError::into_inner)
}

fn set_owner(thread: Option<ThreadId>) {
    *OWNER.lock().unwrap_or_else(PoisonError::into_inner) = thread;
}

/// Whether the terminal is in raw mode / the alternate screen because of us.
pub fn terminal_taken() -> bool {
    TAKEN.load(Ordering::SeqCst)
}

/// Whether a panic on `panicking` must give the terminal back: yes on the thread that owns
/// it (the wizard ends) or when nobody owns it; no on any other thread (the wizard goes on).
pub fn panic_releases_terminal(owner: Option<ThreadId>, panicking: ThreadId) -> bool {
    owner.is_none_or(|owner| owner == panicking)
}

/// Leave the alternate screen, show the cursor, stop mouse capture and bracketed paste and
/// leave raw mode, if we changed them. Safe to call any number of times, from any thread, panics included.
pub fn restore_terminal() -> io::Result<()> {
    if !TAKEN.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    set_owner(None);
    let mut out = io::stdout();
    if MOUSE_CAPTURED.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let screen = execute!(out, DisableBracketedPaste, LeaveAlternateScreen, Show);
    let raw = disable_raw_mode();
    screen.and(raw)
}

/// Install (once) a panic hook that restores the terminal and then calls the hook that was
/// installed before it. Install it after color-eyre's and the program's own hooks.
pub fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if terminal_taken() && !panic_releases_terminal(owner(), thread::current().id()) {
                log_caught_panic(info.payload(), info.location());
                return;
            }
            let _ = restore_terminal();
            previous(info);
        }));
    });
}

/// A panic the wizard survives: into the log (file and tail), masked, instead of stderr,
/// which is the wizard's screen.
fn log_caught_panic(payload: &(dyn Any + Send), location: Option<&Location<'_>>) {
    // (`PanicHookInfo` and its `payload_as_str` are newer than the crate's minimum Rust.)
    let payload = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-text payload");
    let place = location
        .map(|at| format!(" at {}:{}", at.file(), at.line()))
        .unwrap_or_default();
    let thread = thread::current();
    tracing::error!(
        "thread {} panicked{place}: {}; the wizard goes on (a step's panic fails that step)",
        thread.name().unwrap_or("unnamed"),
        crate::secrets::redact(payload)
    );
}

/// The terminal while the wizard owns it. Dropping it gives the terminal back.
pub struct Tui {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    /// The viewport: the whole terminal, as the wizard last learned its size.
    area: Rect,
    mouse: bool,
}

impl Tui {
    /// Raw mode, alternate screen, hidden cursor, bracketed paste, and mouse capture only
    /// if `mouse`. The calling thread becomes the terminal's owner: keep drawing from it
    /// (e.g. drive the wizard with `block_on`, not in a spawned task that may move between
    /// threads).
    pub fn enter(mouse: bool) -> io::Result<Tui> {
        install_panic_hook();
        let (width, height) = crossterm::terminal::size()?;
        let area = Rect::new(0, 0, width, height);
        // A fixed viewport, resized by the wizard's resize messages: a full-screen one
        // asks the terminal its size (opening /dev/tty) on every frame.
        let terminal = Terminal::with_options(
            CrosstermBackend::new(io::stdout()),
            TerminalOptions {
                viewport: Viewport::Fixed(area),
            },
        )?;
        let mut tui = Tui {
            terminal,
            area,
            mouse,
        };
        if let Err(err) = tui.take() {
            let _ = restore_terminal();
            return Err(err);
        }
        Ok(tui)
    }

    fn take(&mut self) -> io::Result<()> {
        set_owner(Some(thread::current().id()));
        TAKEN.store(true, Ordering::SeqCst);
        enable_raw_mode()?;
        // Bracketed paste: a paste arrives as one event, its newlines are not Enter.
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            Hide,
            EnableBracketedPaste
        )?;
        if self.mouse {
            MOUSE_CAPTURED.store(true, Ordering::SeqCst);
            execute!(io::stdout(), EnableMouseCapture)?;
        }
        // A fresh screen: the next draw paints every cell.
        self.terminal.clear()
    }

    /// Give the terminal back for a while (e.g. for `az login`).
    pub fn suspend(&mut self) -> io::Result<()> {
        restore_terminal()
    }

    /// Take the terminal again after [`Tui::suspend`]; the next draw repaints everything.
    pub fn resume(&mut self) -> io::Result<()> {
        self.take()
    }

    /// The terminal's size, asked of the terminal.
    pub fn size(&self) -> io::Result<(u16, u16)> {
        let size = self.terminal.size()?;
        Ok((size.width, size.height))
    }

    /// Draw the wizard at the size it knows (only the cells that changed reach the
    /// terminal); a new size clears the screen and paints every cell.
    pub fn draw(&mut self, app: &App) -> io::Result<()> {
        let (width, height) = app.size;
        let area = Rect::new(0, 0, width, height);
        if area != self.area {
            self.terminal.resize(area)?;
            self.area = area;
        }
        self.terminal.draw(|frame| render(app, frame)).map(|_| ())
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = restore_terminal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owning_thread_or_no_owner_releases_the_terminal() {
        let wizard = thread::current().id();
        let worker = thread::spawn(|| thread::current().id())
            .join()
            .expect("thread id");
        assert!(panic_releases_terminal(Some(wizard), wizard));
        assert!(!panic_releases_terminal(Some(wizard), worker));
        assert!(panic_releases_terminal(None, worker));
    }

    /// The hook itself: a worker's panic (caught, as tokio catches a step's) leaves the
    /// terminal taken and owned, so the wizard keeps its screen. Only flags change here
    /// (nothing is written to the terminal: the owning thread never panics).
    #[test]
    fn a_panic_on_another_thread_leaves_the_terminal_taken() {
        install_panic_hook();
        let wizard = thread::current().id();
        set_owner(Some(wizard));
        TAKEN.store(true, Ordering::SeqCst);
        let worker = thread::Builder::new()
            .name("step-worker".to_string())
            .spawn(|| panic!("a step blew up"))
            .expect("spawn");
        let joined = worker.join();
        let still_taken = terminal_taken();
        let still_owner = owner();
        // Let go without touching the real terminal.
        TAKEN.store(false, Ordering::SeqCst);
        set_owner(None);
        assert!(joined.is_err(), "the worker panicked");
        assert!(still_taken, "the worker's panic gave the terminal back");
        assert_eq!(
            still_owner,
            Some(wizard),
            "the wizard still owns the terminal"
        );
    }
}
