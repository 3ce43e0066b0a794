//! Waiting for aardvark-dns: netavark starts it (or tells it to reload) and
//! returns before it answers, so a container started at once could fail to
//! resolve its peers for seconds. [`wait_ready`] asks it for the
//! container's own name until it answers with an address.
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

/// A DNS query (RFC 1035) for the A record of `name`, with id `id`.
fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00]); // recursion desired
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len().min(63) as u8);
        q.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    q.push(0);
    q.extend_from_slice(&[0, 1, 0, 1]); // A, IN
    q
}

/// The answer to query `id` is a success with at least one record.
fn answered(id: u16, resp: &[u8]) -> bool {
    resp.len() >= 12
        && resp[..2] == id.to_be_bytes()
        && resp[2] & 0x80 != 0 // a response
        && resp[3] & 0x0f == 0 // NOERROR
        && u16::from_be_bytes([resp[6], resp[7]]) > 0
}

/// Asks `server`:53 for `name` until it answers or `limit` passes; true
/// when it answered.
pub fn wait_ready(server: Ipv4Addr, name: &str, limit: Duration) -> bool {
    let Ok(sock) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)) else {
        return false;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 512];
    for id in 1u16.. {
        let _ = sock.send_to(&query(id, name), SocketAddrV4::new(server, 53));
        let round = Instant::now() + Duration::from_millis(50);
        while Instant::now() < round {
            match sock.recv(&mut buf) {
                Ok(n) if answered(id, &buf[..n]) => return true,
                Ok(_) => {}
                // Nobody listening yet (ICMP refused) or nothing within the round.
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        if Instant::now() > deadline {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_answers_in_dns_wire_format() {
        let q = query(7, "web.1");
        assert_eq!(&q[..4], &[0, 7, 1, 0]);
        assert_eq!(&q[12..], &[3, b'w', b'e', b'b', 1, b'1', 0, 0, 1, 0, 1]);
        let mut r = q.clone();
        r[2] = 0x81;
        r[3] = 0x80;
        assert!(!answered(7, &r), "no answer record");
        r[7] = 1;
        assert!(answered(7, &r));
        assert!(!answered(8, &r), "another query's");
        r[3] = 0x83;
        assert!(!answered(7, &r), "NXDOMAIN");
    }
}
