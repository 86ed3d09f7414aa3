//! criterion benchmarks: healthcheck's pure protocol code (the per-check CPU that is ours, not the
//! kernel's). End-to-end figures (HTTP checks/s, start lateness of 10,000 checkers) come from
//! `cargo run --release -p healthcheck --example load -- http|lateness`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use healthcheck::dns::{encode_query, parse_response, RecordType};
use healthcheck::http::{
    encode_request, parse_response_head, HttpProtocol, ReadState, ResponseReader,
};
use healthcheck::smtp::{Dialogue, Step};

fn http(c: &mut Criterion) {
    let head = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 23 Nov 2026 16:00:00 GMT\r\n\
Content-Type: text/html\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n";
    let mut response = head.to_vec();
    response.resize(response.len() + 4096, b'x');

    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_request", |b| {
        b.iter(|| {
            encode_request(
                black_box("/health"),
                "192.0.2.10",
                8080,
                false,
                HttpProtocol::V1_0,
            )
        })
    });
    g.bench_function("parse_response_head", |b| {
        b.iter(|| parse_response_head(black_box(head)))
    });
    g.bench_function("reader_status_only", |b| {
        b.iter(|| {
            let mut r = ResponseReader::new(false);
            matches!(r.feed(black_box(&response)), Ok(ReadState::Complete(_)))
        })
    });
    g.throughput(Throughput::Bytes(response.len() as u64));
    g.bench_function("reader_md5_4k_body", |b| {
        b.iter(|| {
            let mut r = ResponseReader::new(true);
            matches!(r.feed(black_box(&response)), Ok(ReadState::Complete(_)))
        })
    });
    g.finish();
}

fn smtp(c: &mut Criterion) {
    c.bench_function("smtp/dialogue", |b| {
        b.iter(|| {
            let mut d = Dialogue::new("lb1.example");
            let a = d.feed(black_box(b"220-mx.example ESMTP\r\n220 ready\r\n"));
            let b2 = d.feed(black_box(b"250 hello\r\n"));
            let done = d.feed(black_box(b"221 bye\r\n"));
            (a.is_ok(), b2.is_ok(), done == Ok(Step::Done))
        })
    });
}

fn dns(c: &mut Criterion) {
    let query = encode_query(0x4242, "www.example.test", RecordType::A).unwrap_or_default();
    let mut answer = query.clone();
    if answer.len() > 7 {
        answer[2] = 0x81;
        answer[3] = 0x80;
        answer[7] = 1;
    }
    answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    c.bench_function("dns/encode_query", |b| {
        b.iter(|| encode_query(black_box(7), black_box("www.example.test"), RecordType::A))
    });
    c.bench_function("dns/parse_response", |b| {
        b.iter(|| parse_response(black_box(&answer), black_box(&query)))
    });
}

criterion_group!(group, http, smtp, dns);
criterion_main!(group);
