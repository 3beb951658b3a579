//! Hunting a hidden reference cycle with `gc_core::debug`.
//!
//! A small "server" handles requests. Each response keeps its request (for
//! the access log), and (the hidden bug) each request also keeps a strong
//! pointer to its response, for some middleware. The server runs with
//! automatic collection off, as some latency-sensitive services do, trusting
//! reference counting to free each request once it is handled. Memory grows.
//! We find out why, the way a Python programmer would with `gc` and objgraph:
//!
//! 1. a census after each batch shows which types grow;
//! 2. `referrers`, `referents` and `path_to` tell who holds a leaked request;
//! 3. `SAVE_ALL` keeps the cyclic garbage of a collection for inspection;
//! 4. a DOT picture of the heap is written to `leak.dot` (and rendered to
//!    `leak.svg` if Graphviz's `dot` is installed);
//! 5. the fix (a `Weak` pointer from request to response) stops the growth.
//!
//! Run it with `cargo run --example leak_hunt`.

#![deny(warnings)]

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::process::Command;

use gc_core::debug::{self, DebugFlags, ObjectInfo, Scope};
use gc_core::{Gc, Trace, Weak};
use gc_examples::short_type_name;

// --- The program under investigation -------------------------------------------

#[derive(Trace)]
struct Request {
    id: u64,
    path: String,
    /// Set once the response exists.
    response: RefCell<Option<ToResponse>>,
}

/// The bug, and its fix.
#[derive(Trace)]
enum ToResponse {
    Strong(Gc<Response>),
    Weak(Weak<Response>),
}

#[derive(Trace)]
struct Response {
    status: u16,
    body: String,
    /// The request this answers, kept for the access log.
    request: Gc<Request>,
}

struct Server {
    /// The last few responses, for a status page: these are meant to stay.
    recent: VecDeque<Gc<Response>>,
    next_id: u64,
    fixed: bool,
}

impl Server {
    fn new(fixed: bool) -> Server {
        Server {
            recent: VecDeque::new(),
            next_id: 0,
            fixed,
        }
    }

    /// Handles one request. Returns a weak reference to it: a probe that
    /// tells whether the request is released once handled.
    fn handle(&mut self, path: &str) -> Weak<Request> {
        self.next_id += 1;
        let request = Gc::new(Request {
            id: self.next_id,
            path: path.to_owned(),
            response: RefCell::new(None),
        });
        let response = Gc::new(Response {
            status: 200,
            body: format!("<h1>{path}</h1>"),
            request: request.clone(),
        });
        *request.response.borrow_mut() = Some(if self.fixed {
            ToResponse::Weak(Gc::downgrade(&response))
        } else {
            ToResponse::Strong(response.clone()) // the hidden cycle
        });
        self.recent.push_back(response);
        if self.recent.len() > 3 {
            self.recent.pop_front();
        }
        Gc::downgrade(&request)
    }

    fn batch(&mut self, n: usize) {
        for i in 0..n {
            self.handle(&format!("/items/{i}"));
        }
    }
}

// --- Investigation helpers --------------------------------------------------------

/// Live tracked objects per (short) type name.
fn census() -> BTreeMap<String, usize> {
    debug::census(Scope::All)
        .into_iter()
        .map(|e| (short_type_name(e.type_name), e.count))
        .collect()
}

/// `Response #55d0c8a1e040 (strong 1), ...`
fn list(objects: &[ObjectInfo], sep: &str) -> String {
    let names: Vec<String> = objects.iter().map(describe).collect();
    names.join(sep)
}

fn describe(o: &ObjectInfo) -> String {
    format!(
        "{} {} (strong {})",
        short_type_name(o.type_name),
        o.id,
        o.strong_count
    )
}

fn census_growth(server: &mut Server, batches: usize) {
    let mut before = census();
    for b in 1..=batches {
        server.batch(200);
        let now = census();
        let growth: Vec<String> = now
            .iter()
            .map(|(t, &n)| (t, n, n.saturating_sub(before.get(t).copied().unwrap_or(0))))
            .filter(|&(_, _, g)| g > 0)
            .map(|(t, n, g)| format!("{t}: {n} (+{g})"))
            .collect();
        println!(
            "  after batch {b} (200 requests): {} tracked objects; growth: {}",
            gc_core::tracked_count(),
            if growth.is_empty() {
                "none".to_owned()
            } else {
                growth.join(", ")
            }
        );
        before = now;
    }
}

/// Renders `leak.dot` to `leak.svg` if Graphviz is installed.
fn render_svg() {
    match Command::new("dot")
        .args(["-Tsvg", "leak.dot", "-o", "leak.svg"])
        .status()
    {
        Ok(s) if s.success() => {
            println!("  rendered leak.svg with Graphviz (`dot -Tsvg leak.dot -o leak.svg`)");
        }
        Ok(s) => println!("  Graphviz `dot` failed ({s}); leak.dot is still there"),
        Err(_) => println!(
            "  Graphviz `dot` is not installed: render it later with `dot -Tsvg leak.dot -o leak.svg`"
        ),
    }
}

fn main() {
    gc_core::disable(); // the service's choice: no automatic collection
    let mut server = Server::new(false);

    println!("== 1. The symptom: a census after each batch ==");
    let first = server.handle("/first");
    census_growth(&mut server, 3);
    println!("  Requests and Responses pile up: none of them is freed after it is handled.");

    println!("\n== 2. Who holds a request? ==");
    who_holds(&mut server, &first);

    println!("\n== 3. SAVE_ALL: what would a collection free? ==");
    save_all();

    println!("\n== 4. A picture of the heap ==");
    picture(&mut server);

    println!("\n== 5. The fix: Request.response becomes a Weak<Response> ==");
    server = Server::new(true); // deploy the fix: a new server process, in effect
    let leftovers = gc_core::collect();
    println!("  (restarted; collect() freed the {leftovers} objects the old server left)");
    let probe = server.handle("/probe");
    server.batch(3); // fill the `recent` list
    census_growth(&mut server, 3);
    println!(
        "  the probe's request was freed by reference counting once its response left \
         `recent`: upgrade() = {:?}",
        probe.upgrade().map(|r| r.id)
    );
    println!(
        "  tracked objects: {} (the 3 recent pairs), and no collection needed",
        gc_core::tracked_count()
    );
    gc_core::enable();
}

/// `referrers`, `referents` and `path_to` on a leaked request.
fn who_holds(server: &mut Server, probe: &Weak<Request>) {
    let Some(request) = probe.upgrade() else {
        println!("  the first request was freed: no leak to hunt");
        return;
    };
    println!(
        "  request #{} ({}) was handled long ago, but its probe still upgrades",
        request.id, request.path
    );
    let referrers = debug::referrers(&request);
    println!("  referrers(request): [{}]", list(&referrers, ", "));
    let referents = debug::referents(&request);
    println!("  referents(request): [{}]", list(&referents, ", "));
    match debug::path_to(&request) {
        None => println!(
            "  path_to(request): None: no root (nothing outside the heap) reaches it. It is \
             alive only because it is in a cycle: Request -> Response -> Request."
        ),
        Some(path) => println!("  path_to(request): {}", list(&path, " -> ")),
    }
    drop(request);
    let latest = server.handle("/latest");
    if let Some(request) = latest.upgrade() {
        let path = debug::path_to(&request).unwrap_or_default();
        println!(
            "  for contrast, the latest request: path_to = {}: the server's `recent` list \
             holds that Response, as intended",
            list(&path, " -> ")
        );
    }
}

/// Keeps the garbage of one collection and looks at it.
fn save_all() {
    debug::set_debug(DebugFlags::SAVE_ALL);
    let found = gc_core::collect();
    let saved = debug::garbage();
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for g in &saved {
        *by_type.entry(short_type_name(g.type_name())).or_default() += 1;
    }
    println!("  collect() found {found} objects of cyclic garbage and kept them: {by_type:?}");
    if let Some(req) = saved.iter().find_map(debug::Garbage::downcast::<Request>)
        && let Some(ToResponse::Strong(resp)) = &*req.response.borrow()
    {
        println!(
            "  e.g. request #{} {} holds its response ({} {:?}), which points back to it: {}",
            req.id,
            req.path,
            resp.status,
            resp.body,
            Gc::ptr_eq(&resp.request, &req)
        );
    }
    drop(saved);
    debug::set_debug(DebugFlags::empty());
    let released = debug::release_garbage();
    println!(
        "  release_garbage() let go of {released}; collect() then freed {}",
        gc_core::collect()
    );
}

/// Writes `leak.dot` (and `leak.svg`) for a small heap: the 3 recent pairs,
/// and 2 leaked ones.
fn picture(server: &mut Server) {
    server.batch(2);
    let objects = gc_core::tracked_count();
    match std::fs::write("leak.dot", debug::dot_heap()) {
        Ok(()) => println!(
            "  wrote leak.dot: {} Request <-> Response cycles. 3 are held by the server's \
             `recent` list (a root: double blue border); the other {} are cycles no root \
             reaches: the leak",
            objects / 2,
            objects / 2 - 3
        ),
        Err(e) => println!("  could not write leak.dot: {e}"),
    }
    render_svg();
    println!(
        "  a collection frees the unreachable ones: collect() = {}",
        gc_core::collect()
    );
}
