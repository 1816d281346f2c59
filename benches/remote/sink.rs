//! An S3 endpoint on 127.0.0.1 that keeps nothing: it answers every look-up "not found"
//! and every upload "stored", and drops the bytes as they arrive. A render uploading to it
//! does all of its own uploading work (reading entries, signing, sending) while the
//! endpoint does next to none, so it shows what uploading costs the render itself, apart
//! from what storing the objects costs a server sharing its cores.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

/// Starts the endpoint on a thread of its own; returns its port. It runs until the process
/// ends.
pub fn start() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    Ok(port)
}

/// Answers the requests of one connection until the client closes it.
fn serve(stream: TcpStream) {
    let Ok(mut reply) = stream.try_clone() else { return };
    let mut requests = BufReader::with_capacity(1 << 20, stream);
    loop {
        let mut method = String::new();
        let mut length = 0u64;
        let mut line = String::new();
        loop {
            line.clear();
            if requests.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if method.is_empty() {
                header.split(' ').next().unwrap_or_default().clone_into(&mut method);
            } else if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        while length > 0 {
            let Ok(buffered) = requests.fill_buf() else { return };
            if buffered.is_empty() {
                return;
            }
            let taken = buffered.len().min(usize::try_from(length).unwrap_or(usize::MAX));
            requests.consume(taken);
            length -= taken as u64;
        }
        let status = if method == "PUT" { "200 OK\r\nETag: \"0\"" } else { "404 Not Found" };
        let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        if reply.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
