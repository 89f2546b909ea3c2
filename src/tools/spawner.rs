//! Children that die with this process, even when it is killed with SIGKILL.
//!
//! Every child runs in its own session (so a timeout or a cancel can kill its whole group),
//! which also means nothing stops it when this process dies without cleaning up: a killed
//! run's `git push` or `az aks create` would go on and race the next run. On Linux each
//! child therefore asks the kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`).
//! The kernel means the parent *thread*, and a runtime worker thread can retire while its
//! child still runs, so children are forked from one thread that lives as long as the
//! process.

use std::io;

use tokio::process::{Child, Command};

/// Spawn `command` so that the child is killed when this process ends.
pub async fn spawn(command: Command) -> io::Result<Child> {
    imp::spawn(command).await
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::sync::mpsc;
    use std::sync::{Mutex, OnceLock};

    use tokio::process::{Child, Command};
    use tokio::runtime::Handle;
    use tokio::sync::oneshot;

    struct Request {
        command: Command,
        runtime: Handle,
        reply: oneshot::Sender<io::Result<Child>>,
    }

    /// The spawning thread's queue; the thread runs until the process exits.
    fn spawner() -> io::Result<mpsc::Sender<Request>> {
        static SPAWNER: OnceLock<Mutex<Option<mpsc::Sender<Request>>>> = OnceLock::new();
        let slot = SPAWNER.get_or_init(|| Mutex::new(None));
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = slot.as_ref() {
            return Ok(sender.clone());
        }
        let (sender, requests) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("kalypso-spawner".into())
            .spawn(move || {
                for mut request in requests {
                    // The child is registered with the caller's runtime (its reaper and pipes).
                    let _entered = request.runtime.enter();
                    let _ = request.reply.send(request.command.spawn());
                }
            })?;
        *slot = Some(sender.clone());
        Ok(sender)
    }

    pub async fn spawn(mut command: Command) -> io::Result<Child> {
        let parent = std::process::id();
        // SAFETY: runs in the forked child before exec and makes only async-signal-safe
        // system calls (prctl, getppid).
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl: then nobody will signal.
                if libc::getppid() as u32 != parent {
                    return Err(io::Error::other("the parent process ended"));
                }
                Ok(())
            });
        }
        let (reply, answer) = oneshot::channel();
        let request = Request {
            command,
            runtime: Handle::current(),
            reply,
        };
        spawner()?
            .send(request)
            .map_err(|_| io::Error::other("the process spawner has stopped"))?;
        answer
            .await
            .map_err(|_| io::Error::other("the process spawner has stopped"))?
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;

    use tokio::process::{Child, Command};

    pub async fn spawn(mut command: Command) -> io::Result<Child> {
        command.spawn()
    }
}
