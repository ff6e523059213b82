//! rustkit: small text and number tools, written in Rust on the toolhost SDK (plugin-sdk/rust).

use toolhost::{json, Call, Error, Level, Tool};

/// `{"text": string}` → the text with its characters (Unicode scalar values) in reverse order.
///
/// The text "panic!" makes the handler panic on purpose: the host's tests use it to prove that a panic is caught
/// at the boundary, reported as the call's error, and that the plugin keeps serving.
fn reverse(_call: &Call, args: &str) -> Result<String, Error> {
    let args = json::parse(args)?;
    let text = args.str_member("text")?;
    if text == "panic!" {
        panic!("asked to panic by the text \"panic!\"");
    }
    Ok(json::string(&text.chars().rev().collect::<String>()))
}

/// `{"number": 1..3999}` → the number in Roman numerals.
fn roman(_call: &Call, args: &str) -> Result<String, Error> {
    let number = json::parse(args)?.i64_member("number")?;
    if !(1..=3999).contains(&number) {
        return Err(Error::invalid_arguments(format!(
            "number {number} has no Roman numeral: give a whole number from 1 to 3999"
        )));
    }
    const DIGITS: [(i64, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut rest = number;
    let mut out = String::new();
    for (value, letters) in DIGITS {
        while rest >= value {
            out.push_str(letters);
            rest -= value;
        }
    }
    Ok(json::string(&out))
}

/// `{"below": n}` → how many primes are below n (a sieve over a bit set, n/8 bytes), polling cancellation every
/// 65536 steps of work.
fn count_primes(call: &Call, args: &str) -> Result<String, Error> {
    let below = json::parse(args)?.i64_member("below")?;
    if !(0..=100_000_000).contains(&below) {
        return Err(Error::invalid_arguments(format!("below is {below}: give 0 to 100000000")));
    }
    let limit = below as usize;
    call.log(Level::Debug, &format!("count_primes: sieving below {limit}"));
    let mut composite = vec![0u64; limit / 64 + 1];
    let mut count = 0u64;
    let mut work = 0u64;
    for n in 2..limit {
        // Counted here too: past the square root no multiple is marked, and that stretch must stop as promptly.
        work += 1;
        if work % 65_536 == 0 && call.is_cancelled() {
            return Err(cancelled(call, n, limit));
        }
        if composite[n / 64] & (1 << (n % 64)) != 0 {
            continue;
        }
        count += 1;
        let mut multiple = n.saturating_mul(n);
        while multiple < limit {
            composite[multiple / 64] |= 1 << (multiple % 64);
            multiple += n;
            work += 1;
            if work % 65_536 == 0 && call.is_cancelled() {
                return Err(cancelled(call, n, limit));
            }
        }
    }
    Ok(format!("{{\"below\":{below},\"count\":{count}}}"))
}

/// Logs that the sieve stopped at `n` because the call was cancelled; the error to return.
fn cancelled(call: &Call, n: usize, limit: usize) -> Error {
    call.log(Level::Info, &format!("count_primes stopped at {n} of {limit}: the call was cancelled"));
    Error::failed("cancelled")
}

toolhost::plugin! {
    name: c"rustkit",
    version: c"1.0.0",
    tools: [
        Tool::new(c"reverse", c"Reverse a text by characters.", reverse).thread_safe(),
        Tool::new(c"roman", c"Write a number from 1 to 3999 in Roman numerals.", roman).thread_safe(),
        Tool::new(c"count_primes", c"Count the primes below a number.", count_primes).thread_safe(),
    ],
}
