//! The server on a real socket for clients that speak HTTP (the reference phone), and a flaky connection to put
//! between them: a TCP proxy that cuts connections every few requests — before forwarding a request, after the
//! server answered but before the client got the answer, or half way through the answer — and can send each push
//! to the server several times.

use actix_web::web;
use gridline::http::state::AppState;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The app served by actix on 127.0.0.1 (a port of its own), in a thread; stopped when dropped.
pub struct LiveServer {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveServer {
    /// Serves `state` with `workers` HTTP workers.
    pub fn start(state: web::Data<AppState>, workers: usize) -> LiveServer {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
                let (server, addr) = gridline::app::server(state, bind, workers).unwrap();
                tx.send((addr, server.handle())).unwrap();
                let _ = server.await;
            });
        });
        let (addr, handle) = rx.recv().expect("the server started");
        LiveServer {
            addr,
            handle,
            thread: Some(thread),
        }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        // The stop command is sent when called; the future only waits for it to finish.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How the proxy misbehaves.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Cut every n-th request (0: never), in turn before forwarding, after the answer, half way through it.
    pub cut_every: u64,
    /// Send each push this many times to the server, answering the client with the last answer.
    pub push_copies: u32,
}

/// What the proxy did.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests read from clients.
    pub requests: AtomicU64,
    /// Requests dropped before the server saw them.
    pub cut_before: AtomicU64,
    /// Answers dropped after the server acted.
    pub cut_after: AtomicU64,
    /// Answers cut half way.
    pub cut_mid: AtomicU64,
    /// For each push sent several times, the server's answer bodies in order.
    pub replays: Mutex<Vec<Vec<Vec<u8>>>>,
}

/// The flaky connection; stops accepting when dropped.
pub struct FlakyProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// What it did.
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

impl FlakyProxy {
    /// A proxy to `upstream` following `plan`.
    pub fn start(upstream: SocketAddr, plan: Plan) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (stats.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve_client(conn, upstream, plan, &st);
                });
            }
        });
        FlakyProxy { addr, stats, stop }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// One request read from a client: method, path, the head rewritten to close after the answer, and the body.
struct Request {
    method: String,
    path: String,
    head: Vec<u8>,
    body: Vec<u8>,
}

fn read_request(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut raw = Vec::new();
    loop {
        let n = r.read_until(b'\n', &mut raw)?;
        if n == 0 {
            return Ok(None);
        }
        if raw.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(&raw)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let method = req.method.unwrap_or_default().to_owned();
    let path = req.path.unwrap_or_default().to_owned();
    let mut length = 0usize;
    let mut head = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
        }
        if h.name.eq_ignore_ascii_case("connection") {
            continue;
        }
        head.extend_from_slice(h.name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(h.value);
        head.extend_from_slice(b"\r\n");
    }
    // One request per upstream connection: the answer then ends where the connection does.
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body = vec![0; length];
    r.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        path,
        head,
        body,
    }))
}

fn forward(upstream: SocketAddr, req: &Request) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(upstream)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.write_all(&req.head)?;
    s.write_all(&req.body)?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    Ok(answer)
}

fn body_of(answer: &[u8]) -> Vec<u8> {
    answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or_else(Vec::new, |i| answer[i + 4..].to_vec())
}

fn serve_client(
    client: TcpStream,
    upstream: SocketAddr,
    plan: Plan,
    stats: &Stats,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    // One request per connection: the answer closes it (`Connection: close` upstream, passed on to the client).
    let Some(req) = read_request(&mut reader)? else {
        return Ok(());
    };
    let n = stats.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let cut =
        (plan.cut_every > 0 && n.is_multiple_of(plan.cut_every)).then(|| (n / plan.cut_every) % 3);
    if cut == Some(0) {
        stats.cut_before.fetch_add(1, Ordering::SeqCst);
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let copies = if req.method == "POST" && req.path.starts_with("/api/v1/sync/push") {
        plan.push_copies.max(1)
    } else {
        1
    };
    let mut answers = Vec::new();
    for _ in 0..copies {
        answers.push(forward(upstream, &req)?);
    }
    if copies > 1 {
        stats
            .replays
            .lock()
            .unwrap()
            .push(answers.iter().map(|a| body_of(a)).collect());
    }
    let answer = answers.pop().unwrap_or_default();
    match cut {
        Some(1) => {
            stats.cut_after.fetch_add(1, Ordering::SeqCst);
        }
        Some(_) => {
            stats.cut_mid.fetch_add(1, Ordering::SeqCst);
            client.write_all(&answer[..answer.len() / 2])?;
        }
        None => {
            client.write_all(&answer)?;
            client.flush()?;
            let _ = client.shutdown(Shutdown::Write);
            return Ok(());
        }
    }
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}
