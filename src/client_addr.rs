//! The client address of a request: the TCP peer, unless the peer is a proxy listed in
//! `TRUSTED_PROXIES`, in which case it is the address that proxy says it served.
//!
//! Each proxy appends the address it received the request from, so `X-Forwarded-For: a, b, c`
//! reads from the client (left) to the proxy nearest to us (right), and everything left of
//! what our own proxies wrote is whatever the client chose to send. The walk therefore starts
//! at the peer and moves left only while the address it stands on is trusted:
//!
//! - untrusted peer: the peer, and the headers are ignored (anyone can send them);
//! - trusted peer: the rightmost listed address that is not itself trusted; when every listed
//!   address is trusted (a request from inside the network), the leftmost one;
//! - an entry that is not an address (garbage, `unknown`, an obfuscated `_name`, a `Forwarded`
//!   element without `for=`) stops the walk at the last address reached. That entry was written
//!   by a trusted proxy that could not or would not name its client, so the nearest address we
//!   can vouch for is that proxy's own; reading further left would mean believing the client.
//!
//! `X-Forwarded-For` wins when both it and `Forwarded` are present, and `Forwarded` is read only
//! when there is no `X-Forwarded-For` at all: load balancers, CDNs and Next.js deployments write
//! `X-Forwarded-For` and pass a client's `Forwarded` through untouched, so preferring
//! `Forwarded` would let any client name its own address. A proxy that writes only `Forwarded`
//! must therefore drop an incoming `X-Forwarded-For` (the README says so).
//!
//! IPv4 clients of a dual-stack listener appear as `::ffff:a.b.c.d`: every address, and every
//! IPv4-mapped range in the list, is compared in its IPv4 form.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use axum::http::HeaderMap;
use axum::http::header::FORWARDED;
use ipnet::{IpNet, Ipv4Net};

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose forwarding headers are believed (`TRUSTED_PROXIES`): addresses and CIDR
/// ranges, IPv4 and IPv6. Empty by default: no header is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// A `TRUSTED_PROXIES` entry that is neither an address nor a range.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTrustedProxy {
    #[error(
        "TRUSTED_PROXIES: `{0}` is not an IP address or CIDR range (for example 10.0.0.0/8, 2001:db8::/32 or 192.0.2.7)"
    )]
    NotAnAddress(String),
    /// `10.0.0.1/8` is more likely a typo than a way to write `10.0.0.0/8`: refused, not guessed.
    #[error("TRUSTED_PROXIES: `{entry}` has host bits set; the range is written {network}")]
    HostBitsSet { entry: String, network: IpNet },
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|range| range.contains(&address))
    }

    /// The client address of a request that arrived from `peer` with `headers`.
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        for hop in forwarded_hops(headers) {
            let Some(address) = hop else { break };
            client = address;
            if !self.contains(address) {
                break;
            }
        }
        client
    }
}

impl FromStr for TrustedProxies {
    type Err = InvalidTrustedProxy;

    /// A comma list; spaces around entries and empty entries are ignored.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(parse_entry)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, range) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{range}")?;
        }
        Ok(())
    }
}

fn parse_entry(entry: &str) -> Result<IpNet, InvalidTrustedProxy> {
    let range = match entry.parse::<IpAddr>() {
        Ok(address) => IpNet::from(address),
        Err(_) => entry
            .parse::<IpNet>()
            .map_err(|_| InvalidTrustedProxy::NotAnAddress(entry.to_owned()))?,
    };
    if range.trunc() != range {
        return Err(InvalidTrustedProxy::HostBitsSet {
            entry: entry.to_owned(),
            network: range.trunc(),
        });
    }
    Ok(canonical_range(range))
}

/// `::ffff:10.0.0.0/104` is `10.0.0.0/8`, the form addresses are compared in.
fn canonical_range(range: IpNet) -> IpNet {
    if let IpNet::V6(v6) = range
        && v6.prefix_len() >= 96
        && let Some(v4) = v6.network().to_ipv4_mapped()
        && let Ok(v4) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(v4);
    }
    range
}

/// The entries of one header line, left to right; `None` for one that is not an address.
type LineReader = fn(&str) -> Vec<Option<IpAddr>>;

/// The addresses the forwarding headers list, nearest proxy first (right to left); `None` for
/// an entry that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> impl Iterator<Item = Option<IpAddr>> + '_ {
    let x_forwarded_for = headers.get_all(X_FORWARDED_FOR);
    let (lines, read_line): (_, LineReader) = if x_forwarded_for.iter().next().is_some() {
        (x_forwarded_for, x_forwarded_for_entries)
    } else {
        (headers.get_all(FORWARDED), forwarded_entries)
    };
    // Several header lines are one list, in order (RFC 9110 §5.3).
    lines.into_iter().rev().flat_map(move |line| match line.to_str() {
        Ok(line) => read_line(line).into_iter().rev(),
        Err(_) => vec![None].into_iter().rev(),
    })
}

/// `X-Forwarded-For: 203.0.113.7, 10.0.0.2`: nodes separated by commas. Empty list elements
/// are skipped, as RFC 9110 asks of list recipients.
fn x_forwarded_for_entries(line: &str) -> Vec<Option<IpAddr>> {
    line.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(parse_node)
        .collect()
}

/// `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::17]:4711"` (RFC 7239): one element
/// per proxy, its `for=` parameter the address that proxy received the request from.
fn forwarded_entries(line: &str) -> Vec<Option<IpAddr>> {
    split_outside_quotes(line, ',')
        .into_iter()
        .map(str::trim)
        .filter(|element| !element.is_empty())
        .map(forwarded_for)
        .collect()
}

/// The address in one `Forwarded` element's single `for=` parameter.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let mut values = split_outside_quotes(element, ';').into_iter().filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| value.trim())
    });
    let value = values.next()?;
    if values.next().is_some() {
        // A parameter may occur once per element: two `for`s are not an answer.
        return None;
    }
    parse_node(&unquote(value)?)
}

/// Splits at `separator` where it is not inside a quoted string.
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                pieces.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    pieces
}

/// A token as it is, a quoted string without its quotes and escapes; `None` when a quote is
/// left open.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Some(value.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut unquoted = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => unquoted.push(chars.next()?),
            '"' => return None,
            c => unquoted.push(c),
        }
    }
    Some(unquoted)
}

/// A node: `192.0.2.7`, `192.0.2.7:443`, `2001:db8::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:443` (the port may be obfuscated, `_abc`). Anything else — `unknown`, an
/// obfuscated `_name`, garbage — is not an address.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    if let Some(bracketed) = node.strip_prefix('[') {
        let (v6, rest) = bracketed.split_once(']')?;
        let address = v6.parse::<Ipv6Addr>().ok()?;
        return (rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port))
            .then(|| IpAddr::V6(address).to_canonical());
    }
    let (v4, port) = node.split_once(':')?;
    let address = v4.parse::<Ipv4Addr>().ok()?;
    is_port(port).then_some(IpAddr::V4(address))
}

/// A port number, or an obfuscated one (RFC 7239 §6.3: `_` then letters, digits, `.`, `_`, `-`).
fn is_port(port: &str) -> bool {
    match port.strip_prefix('_') {
        Some(obfuscated) => {
            !obfuscated.is_empty()
                && obfuscated
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        None => port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn proxies(list: &str) -> TrustedProxies {
        list.parse().expect("a valid list")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        headers
    }

    /// The client address of a request from `peer` through a load balancer at 10.0.0.0/8.
    fn behind_balancer(peer: &str, pairs: &[(&'static str, &str)]) -> IpAddr {
        proxies("10.0.0.0/8").client_addr(ip(peer), &headers(pairs))
    }

    #[test]
    fn the_list_takes_addresses_and_ranges_of_both_families() {
        let list = proxies(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,,::1 ");
        for trusted in ["10.1.2.3", "192.0.2.7", "2001:db8::42", "::1"] {
            assert!(list.contains(ip(trusted)), "{trusted}");
        }
        for untrusted in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "127.0.0.1"] {
            assert!(!list.contains(ip(untrusted)), "{untrusted}");
        }
        assert_eq!(list.to_string(), "10.0.0.0/8,192.0.2.7/32,2001:db8::/32,::1/128");
        assert!(proxies("").is_empty());
    }

    #[test]
    fn an_invalid_entry_is_refused_by_name() {
        let refused = "10.0.0.0/8,proxy.internal".parse::<TrustedProxies>();
        assert_eq!(
            refused,
            Err(InvalidTrustedProxy::NotAnAddress("proxy.internal".into()))
        );
        assert!(
            refused
                .expect_err("refused")
                .to_string()
                .contains("`proxy.internal`")
        );
        for bad in ["10.0.0.0/33", "10.0.0", "2001:db8::/129", "10.0.0.1:80", "*"] {
            assert!(bad.parse::<TrustedProxies>().is_err(), "{bad}");
        }
        assert_eq!(
            "10.0.0.1/8".parse::<TrustedProxies>(),
            Err(InvalidTrustedProxy::HostBitsSet {
                entry: "10.0.0.1/8".into(),
                network: "10.0.0.0/8".parse().expect("range"),
            })
        );
    }

    #[test]
    fn ipv4_clients_of_a_dual_stack_listener_match_ipv4_ranges() {
        let list = proxies("10.0.0.0/8,::ffff:192.0.2.0/120");
        assert!(list.contains(ip("::ffff:10.0.0.5")));
        assert!(list.contains(ip("192.0.2.9")));
        let forwarded = list.client_addr(
            ip("::ffff:10.0.0.5"),
            &headers(&[("x-forwarded-for", "::ffff:203.0.113.7")]),
        );
        assert_eq!(forwarded, ip("203.0.113.7"));
    }

    #[test]
    fn a_header_from_an_untrusted_peer_is_ignored() {
        let forged = [
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.2"),
        ];
        assert_eq!(behind_balancer("203.0.113.7", &forged), ip("203.0.113.7"));
        assert_eq!(
            TrustedProxies::default().client_addr(ip("10.0.0.1"), &headers(&forged)),
            ip("10.0.0.1"),
            "with no trusted proxies, nothing is believed"
        );
    }

    #[test]
    fn a_trusted_peer_gives_the_rightmost_untrusted_address() {
        assert_eq!(
            behind_balancer("10.0.0.1", &[("x-forwarded-for", "203.0.113.7")]),
            ip("203.0.113.7")
        );
        // The client wrote the first two entries itself; the balancer appended the real one.
        assert_eq!(
            behind_balancer(
                "10.0.0.1",
                &[("x-forwarded-for", "10.9.9.9, 198.51.100.1, 203.0.113.7")]
            ),
            ip("203.0.113.7"),
            "a client-supplied leftmost address is never believed"
        );
        // Two trusted hops (a CDN range and the balancer) in front of the client.
        let chain = proxies("10.0.0.0/8,192.0.2.0/24");
        assert_eq!(
            chain.client_addr(
                ip("10.0.0.1"),
                &headers(&[("x-forwarded-for", "198.51.100.1, 203.0.113.7, 192.0.2.10")])
            ),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn several_header_lines_are_one_list_in_order() {
        let lines = [
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-for", "203.0.113.7, 10.0.0.3"),
        ];
        assert_eq!(behind_balancer("10.0.0.1", &lines), ip("203.0.113.7"));
        let lines = [
            ("x-forwarded-for", "198.51.100.1, 10.0.0.4"),
            ("x-forwarded-for", "10.0.0.3"),
        ];
        assert_eq!(behind_balancer("10.0.0.1", &lines), ip("198.51.100.1"));
    }

    #[test]
    fn when_every_listed_address_is_trusted_the_leftmost_is_the_client() {
        assert_eq!(
            behind_balancer("10.0.0.1", &[("x-forwarded-for", "10.0.0.7, 10.0.0.3")]),
            ip("10.0.0.7")
        );
        assert_eq!(
            behind_balancer("10.0.0.1", &[]),
            ip("10.0.0.1"),
            "no header: the peer itself"
        );
        assert_eq!(
            behind_balancer("10.0.0.1", &[("x-forwarded-for", " , ")]),
            ip("10.0.0.1"),
            "empty list elements are skipped"
        );
    }

    #[test]
    fn ipv6_and_ports_are_read_in_every_spelling() {
        for (entry, expected) in [
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:8443", "2001:db8::1"),
            ("203.0.113.7:51234", "203.0.113.7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
        ] {
            assert_eq!(
                behind_balancer("10.0.0.1", &[("x-forwarded-for", entry)]),
                ip(expected),
                "{entry}"
            );
        }
        let v6_balancer = proxies("fd00::/8");
        assert_eq!(
            v6_balancer.client_addr(
                ip("fd00::1"),
                &headers(&[("x-forwarded-for", "2001:db8::1, fd00::2")])
            ),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_trusted_address() {
        for garbage in [
            "not-an-ip",
            "unknown",
            "_hidden",
            "203.0.113.7:99999",
            "203.0.113.7:",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "2001:db8::1::2",
            "203.0.113.7 198.51.100.1",
        ] {
            assert_eq!(
                behind_balancer("10.0.0.1", &[("x-forwarded-for", garbage)]),
                ip("10.0.0.1"),
                "{garbage}"
            );
            // Behind a trusted hop that wrote its own address correctly: that hop.
            assert_eq!(
                behind_balancer(
                    "10.0.0.1",
                    &[("x-forwarded-for", &format!("198.51.100.1, {garbage}, 10.0.0.2"))]
                ),
                ip("10.0.0.2"),
                "{garbage}: never what lies left of it"
            );
        }
        let mut not_text = HeaderMap::new();
        not_text.append(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(b"203.0.113.\xff").expect("opaque bytes"),
        );
        assert_eq!(
            proxies("10.0.0.0/8").client_addr(ip("10.0.0.1"), &not_text),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_writes_it() {
        for (value, expected) in [
            ("for=203.0.113.7", "203.0.113.7"),
            ("For=\"203.0.113.7:4711\";proto=https", "203.0.113.7"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:_port\"", "2001:db8:cafe::17"),
            ("proto=https;for=203.0.113.7;by=10.0.0.1", "203.0.113.7"),
            ("for=198.51.100.1, for=203.0.113.7;host=\"a,b;c\"", "203.0.113.7"),
            ("for=203.0.113.7, for=10.0.0.3", "203.0.113.7"),
            ("for=\"20\\3.0.113.7\"", "203.0.113.7"),
        ] {
            assert_eq!(
                behind_balancer("10.0.0.1", &[("forwarded", value)]),
                ip(expected),
                "{value}"
            );
        }
        for not_an_address in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=203.0.113.7;for=198.51.100.1",
            "for=\"203.0.113.7",
            "for=\"203.0.113.7\"x\"",
        ] {
            assert_eq!(
                behind_balancer(
                    "10.0.0.1",
                    &[("forwarded", &format!("for=198.51.100.1, {not_an_address}"))]
                ),
                ip("10.0.0.1"),
                "{not_an_address}"
            );
        }
    }

    #[test]
    fn x_forwarded_for_wins_over_forwarded() {
        let both = [
            ("forwarded", "for=198.51.100.1"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(behind_balancer("10.0.0.1", &both), ip("203.0.113.7"));
        // Present but empty still wins: a client's `Forwarded` is not read in its place.
        let empty = [("forwarded", "for=198.51.100.1"), ("x-forwarded-for", "")];
        assert_eq!(behind_balancer("10.0.0.1", &empty), ip("10.0.0.1"));
    }
}
