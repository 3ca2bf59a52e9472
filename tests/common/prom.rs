//! Reading the Prometheus text exposition in tests.

/// The value of the sample `name` whose labels are exactly `labels`.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    want.sort();
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (n, rest) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if n != name {
            return None;
        }
        let mut got: Vec<String> = if rest.is_empty() { vec![] } else { split_labels(rest) };
        got.sort();
        (got == want).then(|| value.parse().ok()).flatten()
    })
}

/// The sample `name` with exactly `labels` from the admin `/metrics` at
/// `admin`, None when absent.
pub async fn scraped(admin: std::net::SocketAddr, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = super::send(&super::client(), admin, "GET", "/metrics", &[]).await.body;
    sample(&text, name, labels)
}

/// Sum of every sample of `name`.
pub fn sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

fn split_labels(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut quoted) = (String::new(), false);
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
