//! The Markdown and HTML building blocks both reports are written with: the dry run's
//! ([`crate::run::dry_run`]) and a run's ([`crate::run_report`]).
//!
//! Both reports show data that comes from Salesforce (names, reasons, email addresses), so
//! every piece of text goes through one escaping function per format, and the table builders
//! escape their cells themselves: a report cannot forget to. The HTML page shell and its
//! style live here too, so the two pages look alike.
//!
//! *Invariant:* text handed to [`escape_html`], [`Html::text`], [`escape_markdown`],
//! [`MarkdownTable::row`] or [`MarkdownDocument::heading`] is shown as it is, whatever
//! characters it holds; only [`Html::from_markup`] and the Markdown passed to
//! [`MarkdownDocument::paragraph`] and [`MarkdownDocument::bullet_list`] are taken as markup.

use std::fmt;
use std::fmt::Write as _;

/// Text as HTML content or a quoted attribute value: `&`, `<`, `>`, `"` and `'` become
/// entities, so no value can open a tag or close an attribute.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Text as one line of Markdown, safe in a table cell as in a list item or a heading.
///
/// A `|` would end a table cell, so it is escaped (`\|`, which CommonMark shows as `|`
/// anywhere); a backslash just before a `|` is doubled, or it would escape the escape. A
/// line break would end the row (or the list item), so each becomes a space. Other Markdown
/// punctuation is left alone: the raw file is read by people too, and `_` in an email
/// address or `-` in a run id would only get noisier.
pub fn escape_markdown(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '|' => escaped.push_str("\\|"),
            '\\' if characters.peek() == Some(&'|') => escaped.push_str("\\\\"),
            // A Windows line ending is one break, so one space.
            '\r' if characters.peek() == Some(&'\n') => {}
            '\r' | '\n' => escaped.push(' '),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Text as a Markdown code span (outside tables: in a table, a `|` would still end the cell).
///
/// Backslash escapes do not work inside a code span, so the fence is made one backtick longer
/// than the longest run of backticks in the text, and padded with a space where the text
/// starts or ends with a backtick, as CommonMark asks.
pub fn markdown_code_span(text: &str) -> String {
    let one_line: String = text
        .replace("\r\n", " ")
        .chars()
        .map(|character| match character {
            '\r' | '\n' => ' ',
            other => other,
        })
        .collect();
    let mut longest_run = 0;
    let mut run = 0;
    for character in one_line.chars() {
        if character == '`' {
            run += 1;
            longest_run = longest_run.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest_run + 1);
    // CommonMark strips one space from each side when both are there, so text that itself
    // starts and ends with a space is padded too, to keep its own.
    let needs_padding = one_line.starts_with('`')
        || one_line.ends_with('`')
        || (one_line.starts_with(' ') && one_line.ends_with(' ') && !one_line.trim().is_empty())
        || one_line.is_empty();
    if needs_padding {
        format!("{fence} {one_line} {fence}")
    } else {
        format!("{fence}{one_line}{fence}")
    }
}

/// Milliseconds as seconds with one decimal: `1530` → `1.5`.
pub fn seconds_from_millis(milliseconds: u64) -> String {
    format!("{:.1}", milliseconds as f64 / 1000.0)
}

/// `part` as a percentage of `whole` with one decimal (`0.0` when `whole` is zero): the
/// widths of a bar's segments.
pub fn percent_of(part: u64, whole: u64) -> String {
    let percent = if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    };
    format!("{percent:.1}")
}

/// A count the org may not report: `?` when it did not.
pub fn count_or_unknown(count: Option<u64>) -> String {
    count.map_or_else(|| "?".to_owned(), |count| count.to_string())
}

/// How a column's cells line up: numbers to the right, so their digits do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One column of a table, for either format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub label: &'static str,
    pub align: Align,
}

impl Column {
    /// A column of text, aligned left.
    pub const fn text(label: &'static str) -> Self {
        Self {
            label,
            align: Align::Left,
        }
    }

    /// A column of numbers, aligned right.
    pub const fn number(label: &'static str) -> Self {
        Self {
            label,
            align: Align::Right,
        }
    }
}

/// A Markdown (GitHub-flavoured) table; every cell is plain text, escaped when rendered.
#[derive(Debug, Clone)]
pub struct MarkdownTable {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

impl MarkdownTable {
    pub fn new(columns: impl IntoIterator<Item = Column>) -> Self {
        Self {
            columns: columns.into_iter().collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row of plain-text cells, one per column.
    pub fn row<Cell: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = Cell>) {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| escape_markdown(cell.as_ref()))
            .collect();
        debug_assert_eq!(cells.len(), self.columns.len(), "one cell per column");
        self.rows.push(cells);
    }

    /// True when no row was added: a report leaves out the table, heading and all.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The header, the alignment line and the rows, each line ending in a newline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let labels: Vec<String> = self
            .columns
            .iter()
            .map(|column| escape_markdown(column.label))
            .collect();
        push_markdown_row(&mut out, &labels);
        out.push('|');
        for column in &self.columns {
            out.push_str(match column.align {
                Align::Left => "---|",
                Align::Right => "---:|",
            });
        }
        out.push('\n');
        for row in &self.rows {
            push_markdown_row(&mut out, row);
        }
        out
    }
}

fn push_markdown_row(out: &mut String, cells: &[String]) {
    out.push('|');
    for cell in cells {
        let _ = write!(out, " {cell} |");
    }
    out.push('\n');
}

/// A Markdown document as a list of blocks (headings, paragraphs, lists, tables), one blank
/// line between each two, so no report has to count newlines.
#[derive(Debug, Clone, Default)]
pub struct MarkdownDocument {
    blocks: Vec<String>,
}

impl MarkdownDocument {
    pub fn new() -> Self {
        Self::default()
    }

    /// A heading of `level` (1 for `#`) reading `text`, which is escaped.
    pub fn heading(&mut self, level: usize, text: &str) {
        self.blocks.push(format!(
            "{} {}\n",
            "#".repeat(level.max(1)),
            escape_markdown(text)
        ));
    }

    /// A paragraph of Markdown: the caller escapes the data in it with [`escape_markdown`].
    pub fn paragraph(&mut self, markdown: &str) {
        self.blocks.push(format!("{markdown}\n"));
    }

    /// A bullet list, one item of Markdown each (data escaped by the caller); nothing at all
    /// when there are no items.
    pub fn bullet_list(&mut self, items: impl IntoIterator<Item = String>) {
        let mut block = String::new();
        for item in items {
            let _ = writeln!(block, "- {item}");
        }
        if !block.is_empty() {
            self.blocks.push(block);
        }
    }

    pub fn table(&mut self, table: &MarkdownTable) {
        self.blocks.push(table.render());
    }

    /// The document, ending with a newline.
    pub fn finish(self) -> String {
        self.blocks.join("\n")
    }
}

/// A piece of HTML that is safe to put in a page: made from text (escaped) or from markup a
/// report wrote itself, around data it escaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Text, shown as it is.
    pub fn text(text: &str) -> Self {
        Self(escape_html(text))
    }

    /// Text in `<code>`: ids and field names, which are read character by character.
    pub fn code(text: &str) -> Self {
        Self(format!("<code>{}</code>", escape_html(text)))
    }

    /// Markup a report wrote, whose data parts it escaped (with [`escape_html`] or by
    /// building them as [`Html`]).
    pub fn from_markup(markup: String) -> Self {
        Self(markup)
    }

    pub fn push(&mut self, more: &Html) {
        self.0.push_str(&more.0);
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Html {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl From<u64> for Html {
    fn from(number: u64) -> Self {
        Self(number.to_string())
    }
}

impl From<u32> for Html {
    fn from(number: u32) -> Self {
        Self(number.to_string())
    }
}

impl From<usize> for Html {
    fn from(number: usize) -> Self {
        Self(number.to_string())
    }
}

/// An HTML table with an id (what the browser check and the tests find it by); cells of
/// right-aligned columns get the `n` class.
#[derive(Debug, Clone)]
pub struct HtmlTable {
    id: String,
    columns: Vec<Column>,
    with_head: bool,
    rows: String,
}

impl HtmlTable {
    /// A table whose column labels form its head.
    pub fn new(id: &str, columns: impl IntoIterator<Item = Column>) -> Self {
        Self {
            id: escape_html(id),
            columns: columns.into_iter().collect(),
            with_head: true,
            rows: String::new(),
        }
    }

    /// A table without a head, for lists of label and value whose labels say enough.
    pub fn without_head(id: &str, columns: impl IntoIterator<Item = Column>) -> Self {
        Self {
            with_head: false,
            ..Self::new(id, columns)
        }
    }

    /// Adds a row, one cell per column.
    pub fn row(&mut self, cells: impl IntoIterator<Item = Html>) {
        self.rows.push_str("<tr>");
        self.push_cells(0, cells);
        self.rows.push_str("</tr>");
    }

    /// Adds a row whose first cell is a header cell (`<th>`): the label of the values after it.
    pub fn labelled_row(&mut self, label: &Html, cells: impl IntoIterator<Item = Html>) {
        let _ = write!(self.rows, "<tr><th>{label}</th>");
        self.push_cells(1, cells);
        self.rows.push_str("</tr>");
    }

    fn push_cells(&mut self, first_column: usize, cells: impl IntoIterator<Item = Html>) {
        for (index, cell) in cells.into_iter().enumerate() {
            let align = self
                .columns
                .get(first_column + index)
                .map_or(Align::Left, |column| column.align);
            let _ = match align {
                Align::Left => write!(self.rows, "<td>{cell}</td>"),
                Align::Right => write!(self.rows, "<td class=\"n\">{cell}</td>"),
            };
        }
    }

    pub fn finish(self) -> Html {
        let mut out = format!("<table id=\"{}\">", self.id);
        if self.with_head {
            out.push_str("<thead><tr>");
            for column in &self.columns {
                let label = escape_html(column.label);
                let _ = match column.align {
                    Align::Left => write!(out, "<th>{label}</th>"),
                    Align::Right => write!(out, "<th class=\"n\">{label}</th>"),
                };
            }
            out.push_str("</tr></thead>");
        }
        let _ = write!(out, "<tbody>{}</tbody></table>", self.rows);
        Html(out)
    }
}

/// `<section>` with an `<h2>` reading `heading` (escaped), then `content`.
pub fn html_section(heading: &str, content: &Html) -> Html {
    Html(format!(
        "<section><h2>{}</h2>{content}</section>",
        escape_html(heading)
    ))
}

/// A bullet list (`<ul>`, with an id when given), one `<li>` per item; an empty `<ul>` when
/// there are none, so the section still says so.
pub fn html_list(id: Option<&str>, items: impl IntoIterator<Item = Html>) -> Html {
    let mut out = match id {
        Some(id) => format!("<ul id=\"{}\">", escape_html(id)),
        None => "<ul>".to_owned(),
    };
    for item in items {
        let _ = write!(out, "<li>{item}</li>");
    }
    out.push_str("</ul>");
    Html(out)
}

/// The headline figures, each a large number over its label.
pub fn html_cards(cards: &[(u64, &str)]) -> Html {
    let mut out = "<div class=\"cards\">".to_owned();
    for (figure, label) in cards {
        let _ = write!(out, "<div><b>{figure}</b>{}</div>", escape_html(label));
    }
    out.push_str("</div>");
    Html(out)
}

/// What a report's page is called and how it is styled beyond the shared style.
#[derive(Debug, Clone, Copy)]
pub struct HtmlPage<'a> {
    /// The `<title>`, as text.
    pub title: &'a str,
    /// The widest the page's content grows, in `rem`: wide tables need more.
    pub max_width_rem: u32,
    /// Style rules for what only this report has, after the shared ones.
    pub extra_style: &'static str,
}

/// The whole page around `body`: self-contained (inline style, no scripts, no external
/// assets), so the file can be mailed or opened from anywhere.
pub fn html_page(page: &HtmlPage<'_>, body: &Html) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>body{{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;\
         margin:2rem auto;max-width:{}rem;padding:0 1rem;color:#1d2430}}{SHARED_STYLE}{}</style>\
         </head><body>{body}</body></html>\n",
        escape_html(page.title),
        page.max_width_rem,
        page.extra_style
    )
}

/// The style both reports share: headings, the headline cards, tables, numbers, code.
const SHARED_STYLE: &str = "h1{margin:0 0 .25rem}h2{margin-top:2rem;border-bottom:1px solid #dde3ea;padding-bottom:.25rem}\
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}.cards div{background:#f3f6f9;border-radius:8px;padding:.6rem 1rem;min-width:8rem}\
.cards b{display:block;font-size:1.4rem}table{border-collapse:collapse;width:100%}th,td{padding:.35rem .5rem;border-bottom:1px solid #eef1f4;text-align:left;vertical-align:top}\
.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.9em}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_covers_every_character_that_opens_markup_or_closes_a_quote() {
        assert_eq!(
            escape_html(r#"<a href="x" title='y'>Fish & Chips</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Fish &amp; Chips&lt;/a&gt;"
        );
        // An entity in the data is shown as written, not decoded.
        assert_eq!(escape_html("&lt;"), "&amp;lt;");
        assert_eq!(escape_html("Zoë, 東京"), "Zoë, 東京");
    }

    #[test]
    fn markdown_escaping_keeps_a_value_in_its_cell_and_on_its_line() {
        assert_eq!(escape_markdown("a|b"), "a\\|b");
        assert_eq!(
            escape_markdown("one\ntwo\r\nthree\rfour"),
            "one two three four"
        );
        // The backslash of `\|` is doubled so the pipe's own escape still applies.
        assert_eq!(escape_markdown("a\\|b"), "a\\\\\\|b");
        assert_eq!(escape_markdown("C:\\data"), "C:\\data");
        assert_eq!(
            escape_markdown("owner_name@example.com"),
            "owner_name@example.com"
        );
    }

    #[test]
    fn code_spans_are_fenced_past_the_backticks_they_hold() {
        assert_eq!(markdown_code_span("acme.com"), "`acme.com`");
        assert_eq!(markdown_code_span("a`b"), "``a`b``");
        assert_eq!(markdown_code_span("`edge`"), "`` `edge` ``");
        assert_eq!(markdown_code_span("two\nlines"), "`two lines`");
        assert_eq!(markdown_code_span(""), "`  `");
    }

    #[test]
    fn figures_are_formatted_alike() {
        assert_eq!(seconds_from_millis(1_530), "1.5");
        assert_eq!(seconds_from_millis(0), "0.0");
        assert_eq!(percent_of(1, 8), "12.5");
        assert_eq!(percent_of(3, 0), "0.0");
        assert_eq!(count_or_unknown(Some(15_000)), "15000");
        assert_eq!(count_or_unknown(None), "?");
    }

    #[test]
    fn a_markdown_table_escapes_its_cells_and_aligns_numbers_right() {
        let mut table = MarkdownTable::new([Column::text("object"), Column::number("records")]);
        table.row(["Account", "12"]);
        table.row(["A | B\nC", "3"]);
        assert_eq!(
            table.render(),
            "| object | records |\n|---|---:|\n| Account | 12 |\n| A \\| B C | 3 |\n"
        );
    }

    #[test]
    fn a_markdown_document_puts_one_blank_line_between_blocks() {
        let mut document = MarkdownDocument::new();
        document.heading(1, "Run a|b");
        document.bullet_list(["**kind**: full".to_owned()]);
        document.bullet_list(Vec::new());
        document.heading(2, "Issues");
        let mut table = MarkdownTable::new([Column::text("reason")]);
        table.row(["none"]);
        document.table(&table);
        document.paragraph("The end.");
        assert_eq!(
            document.finish(),
            "# Run a\\|b\n\n- **kind**: full\n\n## Issues\n\n| reason |\n|---|\n| none |\n\nThe end.\n"
        );
    }

    #[test]
    fn an_html_table_escapes_text_cells_and_marks_number_cells() {
        let mut table = HtmlTable::new("objects", [Column::text("object"), Column::number("n")]);
        table.row([Html::text("<Acme & 'Co'>"), Html::from(7_u64)]);
        table.row([
            Html::code("001\"x"),
            Html::from_markup("<b>9</b>".to_owned()),
        ]);
        assert_eq!(
            table.finish().as_str(),
            "<table id=\"objects\"><thead><tr><th>object</th><th class=\"n\">n</th></tr></thead><tbody>\
             <tr><td>&lt;Acme &amp; &#39;Co&#39;&gt;</td><td class=\"n\">7</td></tr>\
             <tr><td><code>001&quot;x</code></td><td class=\"n\"><b>9</b></td></tr></tbody></table>"
        );
    }

    #[test]
    fn an_html_table_without_head_may_label_its_rows() {
        let mut table =
            HtmlTable::without_head("facts", [Column::text("fact"), Column::text("value")]);
        table.labelled_row(&Html::text("status"), [Html::text("a<b")]);
        assert_eq!(
            table.finish().as_str(),
            "<table id=\"facts\"><tbody><tr><th>status</th><td>a&lt;b</td></tr></tbody></table>"
        );
    }

    #[test]
    fn sections_lists_and_cards_escape_their_text() {
        let list = html_list(Some("issues"), [Html::text("x<y"), Html::code("z")]);
        assert_eq!(
            list.as_str(),
            "<ul id=\"issues\"><li>x&lt;y</li><li><code>z</code></li></ul>"
        );
        assert_eq!(html_list(None, []).as_str(), "<ul></ul>");
        assert_eq!(
            html_section("Rollback of <r>", &list).as_str(),
            format!("<section><h2>Rollback of &lt;r&gt;</h2>{list}</section>")
        );
        assert_eq!(
            html_cards(&[(3, "created"), (0, "a&b")]).as_str(),
            "<div class=\"cards\"><div><b>3</b>created</div><div><b>0</b>a&amp;b</div></div>"
        );
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_its_title() {
        let page = html_page(
            &HtmlPage {
                title: "Run <x>",
                max_width_rem: 70,
                extra_style: ".only-here{color:red}",
            },
            &Html::text("body & soul"),
        );
        assert!(
            page.starts_with("<!doctype html>\n<html lang=\"en\">"),
            "{page}"
        );
        assert!(page.contains("<title>Run &lt;x&gt;</title>"), "{page}");
        assert!(page.contains("max-width:70rem;"), "{page}");
        assert!(page.contains("code{font-size:.9em}.only-here{color:red}</style>"));
        assert!(
            page.ends_with("<body>body &amp; soul</body></html>\n"),
            "{page}"
        );
        assert!(!page.contains("<script") && !page.contains("<link") && !page.contains("http"));
    }
}
