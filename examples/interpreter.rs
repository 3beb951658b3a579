//! A tiny Python-like interpreter whose objects live in `Gc`s.
//!
//! Values are Python's: ints, strings, lists, dicts and instances of a class
//! `Node` whose `__del__` is a finalizer. As in CPython, ints and strings
//! cannot refer to other objects, so they are not tracked by the cycle
//! collector; lists, dicts and instances are. Lists and dicts can contain
//! themselves, instances can refer to each other: the script below makes such
//! cycles, deletes every name, and `gc.collect()` reclaims them, running the
//! `__del__` finalizers first, while every object of the cycle is intact.
//!
//! Run it with `cargo run --example interpreter`.

#![deny(warnings)]

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use gc_core::{Finalize, Gc, Trace};

const SCRIPT: &str = r#"
# Strings hold no references: not tracked. Containers are.
s = "hello"
print(gc.is_tracked(s), gc.is_tracked([]))
# A list that contains itself, and a dict that contains itself.
l = [1, "two"]
l.append(l)
print(l)
d = {}
d["self"] = d
d["list"] = l
print(d)
# l is referred to by the name l, by its own last item, and by d["list"].
print(refcount(l))
# Two objects with __del__ that refer to each other.
a = Node("a")
b = Node("b")
a.peer = b
b.peer = a
print(a.peer.peer.name)
# Drop every name: reference counting cannot free any of it.
del l
del d
del a
del b
print(gc.tracked())
print(gc.collect())
print(gc.tracked())
"#;

// --- The object model ---------------------------------------------------------

/// A Python value. Ints are stored inline; everything else is an object.
#[derive(Clone, Trace)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Str(Gc<str>),
    List(Gc<List>),
    Dict(Gc<Dict>),
    Instance(Gc<Instance>),
}

/// A list: can contain anything, itself included.
#[derive(Trace)]
struct List(RefCell<Vec<Value>>);

/// A dict with string keys: can contain anything, itself included.
#[derive(Trace)]
struct Dict(RefCell<BTreeMap<String, Value>>);

/// An instance of a class; its `__del__` is the finalizer below.
#[derive(Trace)]
#[gc(finalize)]
struct Instance {
    class: String,
    attrs: RefCell<BTreeMap<String, Value>>,
}

impl Finalize for Instance {
    /// Python's `__del__`: runs once, before the object is freed. In cyclic
    /// garbage, the other objects of the cycle are still intact here.
    fn finalize(&self) {
        let attrs = self.attrs.borrow();
        let name = attrs.get("name").map_or_else(String::new, repr);
        let peer = match attrs.get("peer") {
            Some(Value::Instance(p)) => p.attrs.borrow().get("name").map_or_else(String::new, repr),
            _ => "None".to_owned(),
        };
        println!(
            "    __del__ of {} {name} (its peer {peer} is still intact)",
            self.class
        );
    }
}

/// An object's identity, to print cycles as Python does (`[...]`, `{...}`).
fn identity(v: &Value) -> Option<*const ()> {
    match v {
        Value::List(l) => Some(Gc::as_ptr(l).cast()),
        Value::Dict(d) => Some(Gc::as_ptr(d).cast()),
        Value::Instance(i) => Some(Gc::as_ptr(i).cast()),
        _ => None,
    }
}

/// Python's `repr`.
fn repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(v, &mut Vec::new(), &mut out);
    out
}

fn write_repr(v: &Value, open: &mut Vec<*const ()>, out: &mut String) {
    let id = identity(v);
    if id.is_some_and(|id| open.contains(&id)) {
        out.push_str(if matches!(v, Value::Dict(_)) {
            "{...}"
        } else {
            "[...]"
        });
        return;
    }
    open.extend(id);
    match v {
        Value::None => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Str(s) => {
            let _ = write!(out, "'{s}'");
        }
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.0.borrow().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, open, out);
            }
            out.push(']');
        }
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, item)) in d.0.borrow().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "'{k}': ");
                write_repr(item, open, out);
            }
            out.push('}');
        }
        Value::Instance(inst) => {
            let _ = write!(out, "<{} object>", inst.class);
        }
    }
    open.pop_if(|last| Some(*last) == id);
}

// --- Tokens and parsing ---------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Name(String),
    Int(i64),
    Str(String),
    Punct(char),
}

fn tokenize(line: &str) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_digit() {
            let mut n = 0i64;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = n * 10 + i64::from(d);
                chars.next();
            }
            tokens.push(Token::Int(n));
        } else if c.is_alphabetic() || c == '_' {
            let mut name = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_alphanumeric() || **c == '_') {
                name.push(c);
                chars.next();
            }
            tokens.push(Token::Name(name));
        } else if c == '"' {
            chars.next();
            let s: String = chars.by_ref().take_while(|&c| c != '"').collect();
            tokens.push(Token::Str(s));
        } else if "()[]{}.,=".contains(c) {
            tokens.push(Token::Punct(c));
            chars.next();
        } else {
            return Err(format!("unexpected character {c:?}"));
        }
    }
    Ok(tokens)
}

/// The interpreter: one global namespace (its roots), and a cursor over the
/// tokens of the line being run.
struct Interpreter {
    globals: HashMap<String, Value>,
    tokens: Vec<Token>,
    pos: usize,
}

type Result<T> = std::result::Result<T, String>;

impl Interpreter {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Result<Token> {
        let t = self.peek().cloned().ok_or("unexpected end of line")?;
        self.pos += 1;
        Ok(t)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}`"))
        }
    }

    fn name(&mut self) -> Result<String> {
        match self.next()? {
            Token::Name(n) => Ok(n),
            t => Err(format!("expected a name, found {t:?}")),
        }
    }

    /// Comma-separated expressions up to `close`.
    fn args(&mut self, close: char) -> Result<Vec<Value>> {
        let mut args = Vec::new();
        while !self.eat(close) {
            if !args.is_empty() {
                self.expect(',')?;
            }
            args.push(self.expr()?);
        }
        Ok(args)
    }

    fn variable(&self, name: &str) -> Result<Value> {
        self.globals
            .get(name)
            .cloned()
            .ok_or_else(|| format!("NameError: name '{name}' is not defined"))
    }

    /// An expression: an atom followed by `.attr`, `[key]` or `.append(x)`.
    fn expr(&mut self) -> Result<Value> {
        let mut v = self.atom()?;
        loop {
            if self.eat('.') {
                let attr = self.name()?;
                if attr == "append" {
                    self.expect('(')?;
                    let item = self.expr()?;
                    self.expect(')')?;
                    let Value::List(l) = &v else {
                        return Err("AttributeError: no append".into());
                    };
                    l.0.borrow_mut().push(item);
                    v = Value::None;
                } else {
                    v = get_attr(&v, &attr)?;
                }
            } else if self.eat('[') {
                let key = self.expr()?;
                self.expect(']')?;
                v = get_item(&v, &key)?;
            } else {
                return Ok(v);
            }
        }
    }

    fn atom(&mut self) -> Result<Value> {
        match self.next()? {
            Token::Int(i) => Ok(Value::Int(i)),
            Token::Str(s) => Ok(Value::Str(Gc::from(s))),
            Token::Punct('[') => {
                let items = self.args(']')?;
                Ok(Value::List(Gc::new(List(RefCell::new(items)))))
            }
            Token::Punct('{') => {
                self.expect('}')?;
                Ok(Value::Dict(Gc::new(Dict(RefCell::new(BTreeMap::new())))))
            }
            Token::Name(n) if n == "gc" => self.gc_call(),
            Token::Name(n) if self.eat('(') => self.call(&n),
            Token::Name(n) if n == "None" => Ok(Value::None),
            Token::Name(n) => self.variable(&n),
            t @ Token::Punct(_) => Err(format!("SyntaxError: unexpected {t:?}")),
        }
    }

    /// `gc.collect()`, `gc.tracked()` (`len(gc.get_objects())`),
    /// `gc.is_tracked(x)`.
    fn gc_call(&mut self) -> Result<Value> {
        self.expect('.')?;
        let f = self.name()?;
        self.expect('(')?;
        let args = self.args(')')?;
        let count = |n: usize| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
        match (f.as_str(), args.as_slice()) {
            ("collect", []) => Ok(count(gc_core::collect())),
            ("tracked", []) => Ok(count(gc_core::tracked_count())),
            ("is_tracked", [v]) => Ok(Value::Bool(match v {
                Value::None | Value::Bool(_) | Value::Int(_) => false,
                Value::Str(s) => Gc::is_tracked(s),
                Value::List(l) => Gc::is_tracked(l),
                Value::Dict(d) => Gc::is_tracked(d),
                Value::Instance(i) => Gc::is_tracked(i),
            })),
            _ => Err(format!("AttributeError: gc.{f}")),
        }
    }

    /// `Node(name)`, `refcount(variable)`.
    fn call(&mut self, f: &str) -> Result<Value> {
        if f == "refcount" {
            // Like `sys.getrefcount`, minus the argument's own reference.
            let name = self.name()?;
            self.expect(')')?;
            let n = match self.variable(&name)? {
                Value::Str(s) => Gc::strong_count(&s),
                Value::List(l) => Gc::strong_count(&l),
                Value::Dict(d) => Gc::strong_count(&d),
                Value::Instance(i) => Gc::strong_count(&i),
                _ => return Err("refcount of a non-object".into()),
            };
            // `variable` returned a clone: one more handle than the program holds.
            return Ok(Value::Int(i64::try_from(n - 1).unwrap_or(i64::MAX)));
        }
        let args = self.args(')')?;
        match (f, args.as_slice()) {
            ("Node", [name]) => {
                let attrs = BTreeMap::from([("name".to_owned(), name.clone())]);
                Ok(Value::Instance(Gc::new(Instance {
                    class: f.to_owned(),
                    attrs: RefCell::new(attrs),
                })))
            }
            _ => Err(format!("NameError: {f}")),
        }
    }

    /// Runs one line: `del x`, `print(...)`, `x = e`, `x.attr = e`,
    /// `x[k] = e`, or an expression.
    fn run_line(&mut self, line: &str) -> Result<()> {
        self.tokens = tokenize(line)?;
        self.pos = 0;
        if self.tokens.first() == Some(&Token::Name("del".into())) {
            self.pos = 1;
            let name = self.name()?;
            // Dropping the handle: if it was the last one, the object is
            // freed right here, by reference counting.
            self.globals
                .remove(&name)
                .ok_or(format!("NameError: {name}"))?;
            return Ok(());
        }
        if self.tokens.first() == Some(&Token::Name("print".into())) {
            self.pos = 1;
            self.expect('(')?;
            let args = self.args(')')?;
            // Python's `print` shows strings without quotes (`str`, not `repr`).
            let text: Vec<String> = args
                .iter()
                .map(|v| match v {
                    Value::Str(s) => s.to_string(),
                    v => repr(v),
                })
                .collect();
            println!("    {}", text.join(" "));
            return Ok(());
        }
        // An assignment? Find a top-level `=`.
        let Some(eq) = self.tokens.iter().position(|t| *t == Token::Punct('=')) else {
            self.expr()?;
            return Ok(());
        };
        let rhs_tokens = self.tokens.split_off(eq + 1);
        self.tokens.pop(); // the `=`
        let target = std::mem::replace(&mut self.tokens, rhs_tokens);
        let value = self.expr()?;
        match target.as_slice() {
            [Token::Name(n)] => {
                self.globals.insert(n.clone(), value);
            }
            [Token::Name(obj), Token::Punct('.'), Token::Name(attr)] => {
                let Value::Instance(inst) = self.variable(obj)? else {
                    return Err(format!("AttributeError: cannot set {attr}"));
                };
                inst.attrs.borrow_mut().insert(attr.clone(), value);
            }
            [
                Token::Name(obj),
                Token::Punct('['),
                Token::Str(key),
                Token::Punct(']'),
            ] => {
                let Value::Dict(d) = self.variable(obj)? else {
                    return Err("TypeError: item assignment needs a dict".into());
                };
                d.0.borrow_mut().insert(key.clone(), value);
            }
            _ => return Err("SyntaxError: cannot assign".into()),
        }
        Ok(())
    }
}

fn get_attr(v: &Value, attr: &str) -> Result<Value> {
    match v {
        Value::Instance(i) => i
            .attrs
            .borrow()
            .get(attr)
            .cloned()
            .ok_or_else(|| format!("AttributeError: {attr}")),
        _ => Err(format!("AttributeError: {attr}")),
    }
}

fn get_item(v: &Value, key: &Value) -> Result<Value> {
    match (v, key) {
        (Value::Dict(d), Value::Str(k)) => {
            d.0.borrow()
                .get(&**k)
                .cloned()
                .ok_or_else(|| format!("KeyError: {k}"))
        }
        (Value::List(l), Value::Int(i)) => usize::try_from(*i)
            .ok()
            .and_then(|i| l.0.borrow().get(i).cloned())
            .ok_or_else(|| "IndexError".to_owned()),
        _ => Err("TypeError: bad subscript".into()),
    }
}

fn main() {
    let mut interp = Interpreter {
        globals: HashMap::new(),
        tokens: Vec::new(),
        pos: 0,
    };
    for line in SCRIPT.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            println!("{line}");
            continue;
        }
        println!(">>> {line}");
        if let Err(e) = interp.run_line(line) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
