//! The text a search found, marked on the player's screen: after each
//! paint, every occurrence of the query in a visible row gets an overlay
//! (`.screen-match`) over its cells. Rows are matched as the search matches
//! lines (letter case ignored character by character); a cell is one
//! character wide (wide characters shift the mark).

use wasm_bindgen::JsCast as _;
use web_sys::{Element, HtmlElement};
use yew::NodeRef;

/// A character's case folding, as the server's search does it.
fn fold(c: char) -> char {
    if c.is_uppercase() { c.to_lowercase().next().unwrap_or(c) } else { c }
}

/// Where `needle` (folded) starts in `row`, in characters, without overlaps.
pub fn positions(row: &str, needle: &[char]) -> Vec<usize> {
    let hay: Vec<char> = row.chars().map(fold).collect();
    let mut found = Vec::new();
    let mut i = 0;
    while !needle.is_empty() && i + needle.len() <= hay.len() {
        if hay[i..i + needle.len()] == *needle {
            found.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    found
}

/// The query as the marks compare it.
pub fn needle(query: &str) -> Vec<char> {
    query.chars().map(fold).collect()
}

/// Replaces the marks on the screen `node` with those of `needle`.
pub fn mark(node: &NodeRef, needle: &[char]) {
    let Some(term) = node.cast::<Element>() else { return };
    let old = term.get_elements_by_class_name("screen-match");
    while let Some(mark) = old.item(0) {
        mark.remove();
    }
    if needle.is_empty() {
        return;
    }
    let Some(document) = term.owner_document() else { return };
    let rows = term.children();
    for row in (0..rows.length()).filter_map(|i| rows.item(i)) {
        let text = row.text_content().unwrap_or_default();
        for start in positions(&text, needle) {
            let Ok(mark) = document.create_element("span") else { continue };
            mark.set_class_name("screen-match");
            let _ = mark.set_attribute("data-testid", "screen-match");
            let _ = mark.set_attribute("aria-hidden", "true");
            if let Ok(mark) = mark.dyn_into::<HtmlElement>() {
                let style = mark.style();
                let _ = style.set_property("left", &format!("{start}ch"));
                let _ = style.set_property("width", &format!("{}ch", needle.len()));
                let _ = row.append_child(&mark);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_ignore_case_and_do_not_overlap() {
        let needle = super::needle("ZEBRA");
        assert_eq!(super::positions("zebra-7 Zebra", &needle), [0, 8]);
        assert_eq!(super::positions("aaaa", &super::needle("aa")), [0, 2]);
        assert!(super::positions("ab", &[]).is_empty());
    }
}
