//! A real SMTP server for the mail tests: `tests/mail/sink.py` (Python's
//! aiosmtpd) on a loopback port, keeping every mail it receives as JSON
//! decoded by Python's email package.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct SmtpSink {
    child: Option<Child>,
    pub port: u16,
    folder: tempfile::TempDir,
}

impl SmtpSink {
    /// A port for a sink that is not started yet (the mail server is down).
    pub fn on_free_port() -> SmtpSink {
        SmtpSink {
            child: None,
            port: crate::server::free_port(),
            folder: tempfile::tempdir().unwrap(),
        }
    }

    /// A sink, listening.
    pub fn start() -> SmtpSink {
        let mut sink = Self::on_free_port();
        sink.listen();
        sink
    }

    /// Starts listening (the mail server comes back).
    pub fn listen(&mut self) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mail/sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(self.port.to_string())
            .arg(self.folder.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd)");
        // It says "listening" once the port is open.
        let mut said = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut said)
            .unwrap();
        assert_eq!(said.trim(), "listening", "the SMTP sink did not start");
        self.child = Some(child);
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP on loopback.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every mail received so far, in order.
    pub fn mails(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.folder.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits (up to `within`) until at least `n` mails have arrived.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let mails = self.mails();
            if mails.len() >= n || start.elapsed() > within {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A mail's header, as received.
pub fn header<'a>(mail: &'a Value, name: &str) -> &'a str {
    mail["headers"][name].as_str().unwrap_or("")
}
