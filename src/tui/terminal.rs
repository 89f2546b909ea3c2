//! Taking over the terminal and always giving it back: the [`Tui`] guard enters raw mode
//! and the alternate screen and restores both when dropped; a panic hook (chained after
//! whatever hook was installed before, e.g. color-eyre's) restores the terminal before
//! the panic is printed, so the message is readable and the shell usable.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use super::app::App;
use super::screens::render;

/// The terminal is in raw mode / the alternate screen because of us.
static TAKEN: AtomicBool = AtomicBool::new(false);
/// Mouse capture is on because of us.
static MOUSE_CAPTURED: AtomicBool = AtomicBool::new(false);

/// Leave the alternate screen, show the cursor, stop mouse capture and leave raw mode, if
/// we changed them. Safe to call any number of times, from any thread, panics included.
pub fn restore_terminal() -> io::Result<()> {
    if !TAKEN.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = io::stdout();
    if MOUSE_CAPTURED.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let screen = execute!(out, LeaveAlternateScreen, Show);
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
            let _ = restore_terminal();
            previous(info);
        }));
    });
}

/// The terminal while the wizard owns it. Dropping it gives the terminal back.
pub struct Tui {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    mouse: bool,
}

impl Tui {
    /// Raw mode, alternate screen, hidden cursor, and mouse capture only if `mouse`.
    pub fn enter(mouse: bool) -> io::Result<Tui> {
        install_panic_hook();
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        let mut tui = Tui { terminal, mouse };
        if let Err(err) = tui.take() {
            let _ = restore_terminal();
            return Err(err);
        }
        Ok(tui)
    }

    fn take(&mut self) -> io::Result<()> {
        TAKEN.store(true, Ordering::SeqCst);
        enable_raw_mode()?;
        execute!(io::stdout(), EnterAlternateScreen, Hide)?;
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

    pub fn size(&self) -> io::Result<(u16, u16)> {
        let size = self.terminal.size()?;
        Ok((size.width, size.height))
    }

    /// Draw the wizard (only the cells that changed reach the terminal).
    pub fn draw(&mut self, app: &App) -> io::Result<()> {
        self.terminal.draw(|frame| render(app, frame)).map(|_| ())
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = restore_terminal();
    }
}
