//! Groups the token lines into a tree of statements: `keyword args... [{ children }]`.
//!
//! As in keepalived, a statement is a keyword and the words after it on its line; a block
//! opens with `{` on the keyword's line or as the first token of a following line, and a
//! `}` may be followed by more statements on the same line. The tree is built without
//! recursion and its depth is capped, so no input can exhaust the stack.

use super::diag::{Diagnostics, Location};
use super::reader::{Parts, TokenKind};

/// Blocks nested deeper than this are reported and dropped (keepalived's deepest real
/// nesting is 5: virtual_server / real_server / SMTP_CHECK / host).
pub const MAX_DEPTH: usize = 16;

/// A statement. Its words borrow the reader's buffer (see [`super::reader::Tokens`]): the tree of a large
/// configuration holds no string of its own.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub keyword: &'a str,
    pub args: &'a [&'a str],
    pub at: Location,
    /// `Some` when a `{ }` block followed the statement.
    pub block: Option<Vec<Node<'a>>>,
}

/// The logical lines (indices into [`Parts::lines`]) a top-level statement spans, from
/// its keyword to its closing `}`: where its text is, for an incremental reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub first: u32,
    pub last: u32,
}

struct Open<'a> {
    node: Node<'a>,
    /// Logical line of its keyword.
    line: u32,
    /// Where its children start in the list of finished statements.
    first: usize,
}

/// Builds the statement tree, reporting unbalanced braces. `words` is [`super::reader::words`]:
/// a statement's arguments are a slice of it.
///
/// Finished statements wait in one list until their block closes, then move into a vector
/// of exactly their number: growing a vector per block would leave most of them at
/// several times the size they need.
pub fn parse<'a>(tokens: &Parts, words: &'a [&'a str], diags: &mut Diagnostics) -> Vec<Node<'a>> {
    let mut root = Vec::new();
    parse_each(tokens, words, diags, |n, _| root.push(n));
    root
}

/// [`parse`], handing each top-level statement and its [`Extent`] to `top` as soon as it
/// is complete.
pub fn parse_each<'a>(
    tokens: &Parts,
    words: &'a [&'a str],
    diags: &mut Diagnostics,
    mut top: impl FnMut(Node<'a>, Extent),
) {
    let toks = &tokens.tokens;
    let at_of = |i: usize| tokens.location(toks[i].line);
    let mut done: Vec<Node<'a>> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // Depth beyond MAX_DEPTH: only counted, so braces still balance.
    let mut overflow = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let Some(at) = at_of(i) else {
            // Every token's line is recorded by the reader; nothing to attach it to otherwise.
            i += 1;
            continue;
        };
        match toks[i].kind {
            TokenKind::Close => {
                let last = toks[i].line;
                i += 1;
                if overflow > 0 {
                    overflow -= 1;
                    continue;
                }
                match stack.pop() {
                    Some(open) => close(&mut done, open, last, stack.is_empty(), &mut top),
                    None => diags.error(&at, "'}' does not close any block"),
                }
            }
            TokenKind::Open => {
                let line = toks[i].line;
                i += 1;
                diags.error(&at, "'{' without a keyword before it");
                let node = Node {
                    keyword: "{",
                    args: &[],
                    at,
                    block: None,
                };
                push_block(&mut stack, done.len(), line, &mut overflow, node, diags);
            }
            TokenKind::Word => {
                let line = toks[i].line;
                let keyword = words[i];
                i += 1;
                let first_arg = i;
                while i < toks.len() && toks[i].line == line && toks[i].kind == TokenKind::Word {
                    i += 1;
                }
                let node = Node {
                    keyword,
                    args: &words[first_arg..i],
                    at,
                    block: None,
                };
                if i < toks.len() && toks[i].kind == TokenKind::Open {
                    i += 1;
                    push_block(&mut stack, done.len(), line, &mut overflow, node, diags);
                } else if overflow == 0 && stack.is_empty() {
                    top(
                        node,
                        Extent {
                            first: line,
                            last: line,
                        },
                    );
                } else if overflow == 0 {
                    done.push(node);
                }
            }
        }
    }
    // Close what the end of input left open, innermost first, naming where each opened.
    let last = toks.last().map_or(0, |t| t.line);
    while let Some(open) = stack.pop() {
        diags.error(
            &open.node.at,
            format!(
                "block '{}' opened here is never closed (missing '}}')",
                open.node.keyword
            ),
        );
        close(&mut done, open, last, stack.is_empty(), &mut top);
    }
}

/// Ends `open`'s block: its statement goes to `top` when it is a top-level one.
fn close<'a>(
    done: &mut Vec<Node<'a>>,
    mut open: Open<'a>,
    last: u32,
    is_top: bool,
    top: &mut impl FnMut(Node<'a>, Extent),
) {
    open.node.block = Some(done.drain(open.first..).collect());
    if is_top {
        let extent = Extent {
            first: open.line,
            last,
        };
        top(open.node, extent);
    } else {
        done.push(open.node);
    }
}

fn push_block<'a>(
    stack: &mut Vec<Open<'a>>,
    first: usize,
    line: u32,
    overflow: &mut usize,
    node: Node<'a>,
    diags: &mut Diagnostics,
) {
    if *overflow > 0 || stack.len() >= MAX_DEPTH {
        if *overflow == 0 {
            diags.error(
                &node.at,
                format!("blocks nested more than {MAX_DEPTH} deep; this one is ignored"),
            );
        }
        *overflow += 1;
        return;
    }
    stack.push(Open { node, line, first });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::{read_root, words, Includes};
    use std::path::Path;

    fn tree(text: &str) -> (Vec<Node<'static>>, Vec<String>) {
        let mut d = Diagnostics::default();
        let tokens = read_root(
            Path::new("t.conf"),
            text.as_bytes(),
            Includes::Refuse,
            None,
            &mut d,
        );
        // The nodes borrow the tokens; a test may keep them.
        let tokens: &'static Parts = Box::leak(Box::new(tokens.into_parts()));
        let words: &'static [&'static str] =
            Box::leak(words(&tokens.text, &tokens.tokens).into_boxed_slice());
        let nodes = parse(tokens, words, &mut d);
        (nodes, d.into_vec().iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn blocks_on_same_and_next_line() {
        let (n, d) = tree("a x {\n b 1\n}\nc\n{\n d { e } f\n}\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].args, vec!["x"]);
        assert_eq!(n[0].block.as_ref().map(Vec::len), Some(1));
        let c = n[1].block.as_ref().unwrap();
        assert_eq!(c[0].keyword, "d");
        assert_eq!(c[0].block.as_ref().unwrap()[0].keyword, "e");
        assert_eq!(c[1].keyword, "f");
        assert_eq!(c[1].at.line, 6);
    }

    #[test]
    fn unbalanced_braces_point_at_the_opening_line() {
        let (_, d) = tree("a {\n b {\n c\n}\n");
        assert_eq!(
            d,
            vec!["t.conf:1: error: block 'a' opened here is never closed (missing '}')"]
        );
        let (_, d) = tree("a\n}\n");
        assert_eq!(d, vec!["t.conf:2: error: '}' does not close any block"]);
    }

    #[test]
    fn deep_nesting_is_capped() {
        let text = "a {\n".repeat(10_000) + &"}\n".repeat(10_000);
        let (n, d) = tree(&text);
        assert_eq!(n.len(), 1);
        assert_eq!(d.len(), 1);
    }
}
