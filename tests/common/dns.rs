//! A DNS server on loopback whose answers a test changes as it runs: A
//! records (in a rotating order), an empty answer, SERVFAIL, or silence. Built on hickory's
//! message types (through fulcrum's own resolver dependency).

use hickory_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::A;
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How the server answers one name.
#[derive(Debug, Clone)]
pub enum Zone {
    Records(Vec<Ipv4Addr>),
    /// NOERROR without records.
    Empty,
    ServFail,
    /// No reply at all (a hung resolver).
    Silent,
    /// Empty for the next N A queries, then these records.
    EmptyFor(usize, Vec<Ipv4Addr>),
}

pub struct Dns {
    pub addr: SocketAddr,
    zones: Arc<Mutex<HashMap<String, Zone>>>,
    /// A queries answered (any outcome), per name.
    asked: Arc<Mutex<HashMap<String, usize>>>,
    pub total: Arc<AtomicUsize>,
}

impl Dns {
    pub fn set(&self, name: &str, zone: Zone) {
        self.zones.lock().unwrap().insert(name.to_string(), zone);
    }

    pub fn records(&self, name: &str, ips: &[&str]) {
        self.set(name, Zone::Records(ips.iter().map(|i| i.parse().unwrap()).collect()));
    }

    /// A queries seen so far for `name`.
    pub fn asked(&self, name: &str) -> usize {
        self.asked.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

pub async fn spawn_dns() -> Dns {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dns = Dns {
        addr: socket.local_addr().unwrap(),
        zones: Arc::default(),
        asked: Arc::default(),
        total: Arc::default(),
    };
    let (zones, asked, total) = (dns.zones.clone(), dns.asked.clone(), dns.total.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(q) = query.queries.first().cloned() else {
                continue;
            };
            let name = q.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
            total.fetch_add(1, Ordering::SeqCst);
            if q.query_type() == RecordType::A {
                *asked.lock().unwrap().entry(name.clone()).or_default() += 1;
            }
            let zone = {
                let mut zones = zones.lock().unwrap();
                let entry = zones.get_mut(&name);
                match entry {
                    Some(Zone::EmptyFor(n, ips)) if q.query_type() == RecordType::A => {
                        if *n == 0 {
                            Some(Zone::Records(ips.clone()))
                        } else {
                            *n -= 1;
                            Some(Zone::Empty)
                        }
                    }
                    Some(Zone::EmptyFor(..)) => Some(Zone::Empty),
                    other => other.cloned(),
                }
            };
            let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
            reply.metadata.recursion_desired = true;
            reply.metadata.recursion_available = true;
            reply.metadata.authoritative = true;
            reply.add_query(q.clone());
            match zone {
                None => reply.metadata.response_code = ResponseCode::NXDomain,
                Some(Zone::Silent) => continue,
                Some(Zone::ServFail) => reply.metadata.response_code = ResponseCode::ServFail,
                Some(Zone::Empty | Zone::EmptyFor(..)) => {}
                Some(Zone::Records(mut ips)) => {
                    if q.query_type() == RecordType::A {
                        // round-robin the order, as DNS servers do
                        let turn = total.load(Ordering::SeqCst) % ips.len().max(1);
                        ips.rotate_left(turn);
                        for ip in ips {
                            reply.add_answer(Record::from_rdata(q.name().clone(), 1, RData::A(A(ip))));
                        }
                    }
                }
            }
            let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
        }
    });
    dns
}
