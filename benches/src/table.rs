//! A plain text table. Columns whose cells are all figures (start with a digit, `≤`, `≥`, `<`, `≈`, or
//! are empty) are right-aligned, the others left-aligned.

pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self) {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let right: Vec<bool> = (0..columns).map(|i| self.is_figures(i)).collect();
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = width.saturating_sub(cell.chars().count());
                if i > 0 {
                    out.push_str("  ");
                }
                if right[i] {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                }
            }
            println!("{}", out.trim_end());
        };
        line(&self.header);
        let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        println!("{}", "-".repeat(total));
        for row in &self.rows {
            line(row);
        }
    }

    fn is_figures(&self, column: usize) -> bool {
        let figure =
            |cell: &str| cell.is_empty() || cell.starts_with(|c: char| c.is_ascii_digit() || "≤≥<≈".contains(c));
        self.rows.iter().all(|row| row.get(column).is_none_or(|cell| figure(cell)))
    }
}
