//! TwiML documents, read into a tree of verbs the messaging and voice interpreters walk.
//! Parsing is strict XML: a document that is not well-formed is Twilio's 12100.

/// One element: its name, attributes, direct text and child elements, in document order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    /// The element's own text (not its children's), trimmed.
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The child elements called `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the document is not well-formed XML: {0}")]
    Malformed(String),
    #[error("the root element is <{0}>, not <Response>")]
    NotResponse(String),
}

/// Parses a TwiML document; its root must be `<Response>`.
pub fn parse(text: &str) -> Result<Element, ParseError> {
    let document = roxmltree::Document::parse(text).map_err(|e| ParseError::Malformed(e.to_string()))?;
    let root = element(document.root_element());
    if root.name != "Response" {
        return Err(ParseError::NotResponse(root.name));
    }
    Ok(root)
}

fn element(node: roxmltree::Node) -> Element {
    let text: String = node
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect();
    Element {
        name: node.tag_name().name().to_string(),
        attributes: node
            .attributes()
            .map(|a| (a.name().to_string(), a.value().to_string()))
            .collect(),
        text: text.trim().to_string(),
        children: node.children().filter(|c| c.is_element()).map(element).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_become_verb_trees() {
        let doc = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Message to="+1">Hi &amp; bye<Media>https://x/y.png</Media></Message><Redirect method="GET">/next</Redirect></Response>"#,
        )
        .expect("parse");
        assert_eq!(doc.children.len(), 2);
        let message = &doc.children[0];
        assert_eq!((message.name.as_str(), message.text.as_str()), ("Message", "Hi & bye"));
        assert_eq!(message.attribute("to"), Some("+1"));
        assert_eq!(message.children_named("Media").count(), 1);
        assert_eq!(doc.children[1].attribute("method"), Some("GET"));
    }

    #[test]
    fn malformed_documents_and_other_roots_are_refused() {
        assert!(matches!(parse("<Response><Message>"), Err(ParseError::Malformed(_))));
        assert!(matches!(parse("<Other/>"), Err(ParseError::NotResponse(_))));
        assert!(matches!(parse(""), Err(ParseError::Malformed(_))));
        assert_eq!(parse("<Response/>").expect("empty").children, vec![]);
    }
}
