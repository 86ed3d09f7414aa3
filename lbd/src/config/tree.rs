//! Groups the token lines into a tree of statements: `keyword args... [{ children }]`.
//!
//! As in keepalived, a statement is a keyword and the words after it on its line; a block
//! opens with `{` on the keyword's line or as the first token of a following line, and a
//! `}` may be followed by more statements on the same line. The tree is built without
//! recursion and its depth is capped, so no input can exhaust the stack.

use super::diag::{Diagnostics, Location};
use super::reader::{Line, TokenKind};

/// Blocks nested deeper than this are reported and dropped (keepalived's deepest real
/// nesting is 5: virtual_server / real_server / SMTP_CHECK / host).
pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone)]
pub struct Node {
    pub keyword: String,
    pub args: Vec<String>,
    pub at: Location,
    /// `Some` when a `{ }` block followed the statement.
    pub block: Option<Vec<Node>>,
}

struct Open {
    node: Node,
    children: Vec<Node>,
}

/// Builds the statement tree, reporting unbalanced braces.
pub fn parse(lines: &[Line], diags: &mut Diagnostics) -> Vec<Node> {
    // Flatten into (line index, token index) so a `{` on the next line can be seen.
    let toks: Vec<(usize, usize)> = lines
        .iter()
        .enumerate()
        .flat_map(|(li, l)| (0..l.tokens.len()).map(move |ti| (li, ti)))
        .collect();
    let tok = |i: usize| &lines[toks[i].0].tokens[toks[i].1];
    let mut root = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // Depth beyond MAX_DEPTH: only counted, so braces still balance.
    let mut overflow = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let at = &lines[toks[i].0].at;
        match tok(i).kind {
            TokenKind::Close => {
                i += 1;
                if overflow > 0 {
                    overflow -= 1;
                    continue;
                }
                match stack.pop() {
                    Some(mut open) => {
                        open.node.block = Some(open.children);
                        attach(&mut stack, &mut root, open.node);
                    }
                    None => diags.error(at, "'}' does not close any block"),
                }
            }
            TokenKind::Open => {
                i += 1;
                diags.error(at, "'{' without a keyword before it");
                push_block(
                    &mut stack,
                    &mut overflow,
                    Node {
                        keyword: "{".into(),
                        args: Vec::new(),
                        at: at.clone(),
                        block: None,
                    },
                    diags,
                );
            }
            TokenKind::Word => {
                let line = toks[i].0;
                let keyword = tok(i).text.clone();
                i += 1;
                let mut args = Vec::new();
                while i < toks.len() && toks[i].0 == line && tok(i).kind == TokenKind::Word {
                    args.push(tok(i).text.clone());
                    i += 1;
                }
                let node = Node {
                    keyword,
                    args,
                    at: at.clone(),
                    block: None,
                };
                if i < toks.len() && tok(i).kind == TokenKind::Open {
                    i += 1;
                    push_block(&mut stack, &mut overflow, node, diags);
                } else if overflow == 0 {
                    attach(&mut stack, &mut root, node);
                }
            }
        }
    }
    // Close what the end of input left open, innermost first, naming where each opened.
    while let Some(mut open) = stack.pop() {
        diags.error(
            &open.node.at,
            format!(
                "block '{}' opened here is never closed (missing '}}')",
                open.node.keyword
            ),
        );
        open.node.block = Some(open.children);
        attach(&mut stack, &mut root, open.node);
    }
    root
}

fn push_block(stack: &mut Vec<Open>, overflow: &mut usize, node: Node, diags: &mut Diagnostics) {
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
    stack.push(Open {
        node,
        children: Vec::new(),
    });
}

fn attach(stack: &mut [Open], root: &mut Vec<Node>, node: Node) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None => root.push(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader::{read_root, Includes};
    use std::path::Path;

    fn tree(text: &str) -> (Vec<Node>, Vec<String>) {
        let mut d = Diagnostics::default();
        let lines = read_root(
            Path::new("t.conf"),
            text.as_bytes(),
            Includes::Refuse,
            None,
            &mut d,
        );
        let nodes = parse(&lines, &mut d);
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
