//! The on-site check form (双随机实地核查表) of one drawn institution, as seed 003's
//! joint plan has the lead's inspectors print it: the task, the institution, one section
//! per department with its items for that kind of institution (outcome checkboxes and a
//! notes column), the team with its leader, signature lines and a QR code of the task's
//! public page. A self-contained HTML page with A4 print CSS (Chromium prints it to PDF);
//! pure: no I/O.

use crate::domain::result::ResultCategory;

/// One item line of a department's section.
#[derive(Debug, Clone)]
pub struct FormItem {
    pub code: String,
    pub title: String,
    pub legal_basis: String,
}

/// One member of the team.
#[derive(Debug, Clone)]
pub struct FormMember {
    pub name: String,
    pub certificate_no: String,
    pub leader: bool,
}

/// One department's section.
#[derive(Debug, Clone)]
pub struct FormSection {
    pub department: String,
    pub department_name: String,
    pub lead: bool,
    pub items: Vec<FormItem>,
    pub members: Vec<FormMember>,
}

/// Everything printed on the form.
#[derive(Debug, Clone)]
pub struct CheckForm {
    pub task_id: String,
    pub task_title: String,
    pub inspection_start: String,
    pub inspection_end: String,
    pub institution_id: String,
    pub institution_name: String,
    pub credit_code: String,
    pub address: String,
    /// The institution kind in Chinese (定点医疗机构 …).
    pub institution_kind_zh: String,
    pub sections: Vec<FormSection>,
    /// The public page of the task, encoded in the QR code.
    pub public_url: String,
    /// The QR code of `public_url` as an SVG element.
    pub qr_svg: String,
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The QR code of `text` as an inline SVG (dark modules on white), or an empty string if
/// the text is too long for a QR code.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(110, 110)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

const CHINESE_NUMBERS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

const CSS: &str = r#"
@page { size: A4; margin: 14mm 12mm 14mm 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", "Source Han Serif SC", serif;
       font-size: 10pt; line-height: 1.35; color: #000; margin: 0; }
.sheet { max-width: 186mm; margin: 0 auto; }
header.top { display: flex; justify-content: space-between; align-items: flex-start; gap: 4mm; }
header.top .titles { flex: 1; }
h1 { font-size: 17pt; text-align: center; margin: 0 0 1mm 0; letter-spacing: 0.3em; }
p.sub { text-align: center; margin: 0 0 2mm 0; font-size: 9.5pt; }
.qr { width: 30mm; text-align: center; font-size: 7pt; word-break: break-all; }
.qr svg { width: 28mm; height: 28mm; display: block; margin: 0 auto; }
table { width: 100%; border-collapse: collapse; margin: 0 0 3mm 0; }
th, td { border: 0.6pt solid #000; padding: 1.2mm 1.5mm; vertical-align: top; }
th { background: #eee; font-weight: bold; text-align: center; }
table.info th { width: 26mm; text-align: left; }
h2 { font-size: 11.5pt; margin: 3mm 0 1.5mm 0; break-after: avoid; page-break-after: avoid; }
tr, .signatures, .outcome { break-inside: avoid; page-break-inside: avoid; }
table.items { table-layout: fixed; }
col.c-no { width: 9mm; } col.c-box { width: 12mm; } col.c-notes { width: 34mm; }
td.no { text-align: center; }
td.box { text-align: center; font-size: 12pt; }
td.item .basis { display: block; font-size: 7.5pt; color: #333; }
td.item .code { font-size: 7.5pt; color: #333; }
.outcome { border: 0.6pt solid #000; border-top: none; padding: 1.5mm; margin: -3mm 0 3mm 0; font-size: 9pt; }
.outcome .line { border-bottom: 0.6pt solid #000; height: 6mm; }
.signatures { margin-top: 3mm; }
.signatures td { height: 11mm; }
footer { font-size: 7.5pt; color: #333; margin-top: 2mm; }
.leader { font-weight: bold; }
@media screen { body { background: #777; } .sheet { background: #fff; padding: 12mm; margin: 5mm auto; } }
"#;

/// The form as a complete HTML page.
pub fn render(f: &CheckForm) -> String {
    let mut h = String::with_capacity(16 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!(
        "<title>双随机实地核查表 · {}</title><style>{CSS}</style></head><body><div class=\"sheet\">",
        escape(&f.institution_name)
    ));
    h.push_str(&format!(
        "<header class=\"top\"><div class=\"titles\"><h1>双随机实地核查表</h1>\
         <p class=\"sub\">{}</p></div><div class=\"qr\" id=\"qr\">{}<span>扫码查看公示</span></div></header>",
        escape(&f.task_title),
        f.qr_svg
    ));
    h.push_str("<table class=\"info\" id=\"info\">");
    for (label, value) in [
        ("任务编号", f.task_id.as_str()),
        ("检查对象", f.institution_name.as_str()),
        ("统一社会信用代码", f.credit_code.as_str()),
        ("地址", f.address.as_str()),
        ("对象类别", f.institution_kind_zh.as_str()),
    ] {
        h.push_str(&format!(
            "<tr><th>{label}</th><td colspan=\"3\">{}</td></tr>",
            escape(value)
        ));
    }
    h.push_str(&format!(
        "<tr><th>检查期间</th><td>{} 至 {}</td><th>检查日期</th><td>　　年　　月　　日</td></tr></table>",
        escape(&f.inspection_start),
        escape(&f.inspection_end)
    ));
    // The team, the leader marked.
    h.push_str("<h2>检查组</h2><table id=\"team\"><tr><th>部门</th><th>姓名</th><th>执法证号</th><th>职务</th></tr>");
    for s in &f.sections {
        for m in &s.members {
            h.push_str(&format!(
                "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if m.leader { " class=\"leader\"" } else { "" },
                escape(&s.department_name),
                escape(&m.name),
                escape(&m.certificate_no),
                if m.leader { "组长" } else { "组员" }
            ));
        }
    }
    h.push_str("</table>");
    for (n, s) in f.sections.iter().enumerate() {
        let number = CHINESE_NUMBERS.get(n).copied().unwrap_or("");
        h.push_str(&format!(
            "<section class=\"department\" data-department=\"{}\"><h2>{number}、{}{}检查事项（{}）</h2>",
            escape(&s.department),
            escape(&s.department_name),
            if s.lead { "（牵头部门）" } else { "" },
            escape(&f.institution_kind_zh)
        ));
        h.push_str(
            "<table class=\"items\"><colgroup><col class=\"c-no\"><col><col class=\"c-box\">\
             <col class=\"c-box\"><col class=\"c-box\"><col class=\"c-notes\"></colgroup>\
             <tr><th>序号</th><th>检查事项</th><th>符合</th><th>不符合</th>\
             <th>未检查</th><th>备注</th></tr>",
        );
        if s.items.is_empty() {
            h.push_str(
                "<tr><td class=\"no\">—</td><td class=\"item\" colspan=\"5\">本部门对此类检查对象无清单事项，按职责检查并记录结果。</td></tr>",
            );
        }
        for (i, item) in s.items.iter().enumerate() {
            h.push_str(&format!(
                "<tr class=\"item\" data-item=\"{}\"><td class=\"no\">{}</td><td class=\"item\">{} <span class=\"code\">[{}]</span>{}</td>\
                 <td class=\"box\">☐</td><td class=\"box\">☐</td><td class=\"box\">☐</td><td class=\"notes\"></td></tr>",
                escape(&item.code),
                i + 1,
                escape(&item.title),
                escape(&item.code),
                if item.legal_basis.is_empty() {
                    String::new()
                } else {
                    format!("<span class=\"basis\">依据：{}</span>", escape(&item.legal_basis))
                }
            ));
        }
        h.push_str("</table><div class=\"outcome\"><div>检查结果：");
        for c in ResultCategory::ALL.iter().take(3) {
            h.push_str(&format!("☐{}　", c.label_zh()));
        }
        h.push_str("☐其他：＿＿＿＿＿＿</div><div>发现的问题：</div><div class=\"line\"></div><div class=\"line\"></div>\
                    <div>追回金额＿＿＿＿＿元　罚款＿＿＿＿＿元　违规＿＿＿处</div></div></section>");
    }
    h.push_str(
        "<table class=\"signatures\" id=\"signatures\"><tr><th colspan=\"2\">签字</th></tr>",
    );
    for s in &f.sections {
        h.push_str(&format!(
            "<tr><td style=\"width:60mm\">{}检查人员</td><td></td></tr>",
            escape(&s.department_name)
        ));
    }
    h.push_str(
        "<tr><td>被检查单位负责人（或委托代表）</td><td></td></tr>\
         <tr><td>日期</td><td>　　　　年　　月　　日</td></tr></table>",
    );
    h.push_str(&format!(
        "<footer>任务 {} · 检查对象 {} · 公示：{} · 检查人员根据各自职责填写本表（进一次门、查多项事），结果于检查结束后按期录入并公示。</footer>",
        escape(&f.task_id),
        escape(&f.institution_id),
        escape(&f.public_url)
    ));
    h.push_str("</div></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg = qr_svg("https://suiji.example/tasks/0194f3b2-0000-7000-8000-000000000000");
        assert!(svg.contains("<svg"), "{svg}");
    }
}
