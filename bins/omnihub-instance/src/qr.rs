//! The QR code drawn in the terminal with Unicode half blocks (two modules per character),
//! light modules as blocks so it reads on a dark terminal, with the quiet zone a phone needs.

use anyhow::Context;
use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

/// `code` (Evolution's raw QR string) as lines of text, at most 80 columns for Evolution's
/// codes (about 240 characters: version 9, 53 modules plus the quiet zone).
pub fn terminal_qr(code: &str) -> anyhow::Result<String> {
    let qr = QrCode::with_error_correction_level(code.as_bytes(), EcLevel::L)
        .context("the QR code from Evolution cannot be drawn")?;
    Ok(qr
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fake Evolution's first QR for `wa_shop`.
    const FAKE: &str = "2@fake-wa_shop-1,cXVpY2sgYnJvd24=,Zm94IGp1bXBz,b3ZlciB0aGU=";

    /// `UPDATE_QR_SNAPSHOT=1 cargo test -p omnihub-instance qr` rewrites the snapshot after
    /// a deliberate change of the drawing (review the new file before committing it).
    #[test]
    fn the_drawing_matches_the_snapshot() {
        let drawn = terminal_qr(FAKE).unwrap();
        if std::env::var_os("UPDATE_QR_SNAPSHOT").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/qr_snapshot.txt");
            std::fs::write(path, format!("{drawn}\n")).unwrap();
        }
        assert_eq!(drawn, include_str!("qr_snapshot.txt").trim_end_matches('\n'));
    }

    /// Reading the drawing back gives the code's modules (light modules are blocks).
    #[test]
    fn the_drawing_has_every_module_and_fits_80_columns() {
        // As long as a real Evolution code: "2@" + 4 base64 parts.
        let real = format!(
            "2@{},{},{},{}",
            "A".repeat(150),
            "B".repeat(43),
            "C".repeat(43),
            "D".repeat(43)
        );
        for code in [FAKE, real.as_str()] {
            let qr = QrCode::with_error_correction_level(code.as_bytes(), EcLevel::L).unwrap();
            let width = qr.width();
            let drawn = terminal_qr(code).unwrap();
            let lines: Vec<Vec<char>> = drawn.lines().map(|l| l.chars().collect()).collect();
            assert!(
                lines.iter().all(|l| l.len() == width + 8 && l.len() <= 80),
                "{} columns",
                lines[0].len()
            );
            let colors = qr.to_colors();
            for y in 0..width {
                for x in 0..width {
                    let (row, upper) = ((y + 4) / 2, (y + 4) % 2 == 0);
                    let c = lines[row][x + 4];
                    let light_drawn = matches!((c, upper), ('█', _) | ('▀', true) | ('▄', false));
                    let dark = colors[y * width + x] == qrcode::Color::Dark;
                    assert_eq!(light_drawn, !dark, "module ({x}, {y})");
                }
            }
        }
    }
}
