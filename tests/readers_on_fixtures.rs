//! Each reader reads each bundled fixture with the sizes and label counts that
//! fixtures/PROVENANCE.md states, and every fixture's SHA-256 matches the table there.

use std::path::{Path, PathBuf};

use puma::data::{Dataset, csv::read_csv, idx, indices::read_indices};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn assert_shape(ds: &Dataset, n: usize, d: usize, counts: &[usize]) {
    assert_eq!(
        (ds.n(), ds.d(), ds.k()),
        (n, d, counts.len()),
        "{:?}",
        ds.source()
    );
    assert_eq!(ds.label_counts(), counts, "{:?}", ds.source());
    assert_eq!(ds.x().len(), n * d);
}

#[test]
fn digits_csv_has_1797_rows_of_64_pixel_counts() {
    let ds = read_csv(fixture("digits/digits.csv")).unwrap();
    assert_shape(
        &ds,
        1797,
        64,
        &[178, 182, 177, 183, 181, 182, 181, 179, 174, 180],
    );
    let names = ds.feature_names().unwrap();
    assert_eq!((names[0].as_str(), names[63].as_str()), ("p0", "p63"));
    // 8×8 blocks of counts 0..16, all integers.
    assert!(
        ds.x()
            .iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
    );
    assert_eq!(ds.row(0)[..5], [0.0, 0.0, 5.0, 13.0, 9.0]);
}

#[test]
fn breast_cancer_csv_has_212_malignant_and_357_benign() {
    let ds = read_csv(fixture("breast_cancer/breast_cancer.csv")).unwrap();
    assert_shape(&ds, 569, 30, &[212, 357]);
    assert_eq!(ds.feature_names().unwrap()[0], "mean_radius");
}

/// Label counts of fixtures/mnist10k as stored (PROVENANCE.md's "980 to 1127 per class" holds
/// for the largest class only: the smallest, digit 5, has 863).
const MNIST10K_COUNTS: [usize; 10] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

#[test]
fn mnist10k_idx_has_10000_images_of_784_grey_pixels() {
    let ds = idx::read_idx(
        fixture("mnist10k/images-idx3-ubyte.gz"),
        fixture("mnist10k/labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_shape(&ds, 10_000, 784, &MNIST10K_COUNTS);
    assert!(
        ds.x()
            .iter()
            .all(|&v| (0.0..=255.0).contains(&v) && v.fract() == 0.0)
    );
    let (lo, hi) = ds
        .x()
        .iter()
        .fold((255.0f64, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
    assert_eq!((lo, hi), (0.0, 255.0));
    // Sum of all pixels: a cheap fingerprint of the decoded payload.
    assert_eq!(ds.x().iter().sum::<f64>(), 262_146_600.0);
    // Stored grouped by label 0..9 (PROVENANCE.md): shuffle before splitting.
    assert!(ds.labels().windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn mnist10k_can_be_scaled_to_the_unit_interval() {
    let opts = idx::IdxOptions {
        scale_to_unit: true,
    };
    let ds = idx::read_idx_with(
        fixture("mnist10k/images-idx3-ubyte.gz"),
        fixture("mnist10k/labels-idx1-ubyte.gz"),
        &opts,
    )
    .unwrap();
    assert!(ds.x().iter().all(|&v| (0.0..=1.0).contains(&v)));
    assert_eq!(ds.x().iter().cloned().fold(0.0, f64::max), 1.0);
}

#[test]
fn mnist10k_labels_file_reads_alone() {
    let y = idx::read_labels(fixture("mnist10k/labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(y.len(), 10_000);
    let img = idx::read_idx_array(fixture("mnist10k/images-idx3-ubyte.gz")).unwrap();
    assert_eq!(img.dims, vec![10_000, 28, 28]);
    assert_eq!(img.dtype, idx::IdxType::U8);
}

#[test]
fn moons_reference_csvs_have_1000_train_and_500_test_rows() {
    let train = read_csv(fixture("reference/moons_mlp/train.csv")).unwrap();
    assert_shape(&train, 1000, 2, &[506, 494]);
    let test = read_csv(fixture("reference/moons_mlp/test.csv")).unwrap();
    assert_shape(&test, 500, 2, &[250, 250]);
    assert_eq!(train.row(0), &[0.38953469012907016, 1.1407976566090567]);
}

#[test]
fn digits_logreg_reference_csvs_have_1437_train_and_360_test_rows() {
    let train = read_csv(fixture("reference/digits_logreg/train.csv")).unwrap();
    assert_shape(
        &train,
        1437,
        64,
        &[145, 142, 142, 135, 148, 147, 143, 148, 131, 156],
    );
    let test = read_csv(fixture("reference/digits_logreg/test.csv")).unwrap();
    assert_shape(&test, 360, 64, &[36, 36, 35, 37, 36, 37, 36, 36, 35, 36]);
}

#[test]
fn flipped_index_files_mark_ten_percent_of_the_training_rows() {
    for (dir, n, m) in [("moons_mlp", 1000, 100), ("digits_logreg", 1437, 144)] {
        let rows = read_indices(fixture(&format!("reference/{dir}/flipped.txt")), n).unwrap();
        assert_eq!(rows.len(), m, "{dir}");
        assert!(rows.iter().all(|&i| i < n));
        // The same file against a data set one row too short must fail if it marks row n − 1.
        if rows.contains(&(n - 1)) {
            assert!(read_indices(fixture(&format!("reference/{dir}/flipped.txt")), n - 1).is_err());
        }
    }
    let moons = read_indices(fixture("reference/moons_mlp/flipped.txt"), 1000).unwrap();
    assert_eq!(moons[..3], [5, 13, 34]);
}

// ---- checksums ----

/// Every fixture listed in PROVENANCE.md's SHA-256 block has that checksum, and every file
/// under fixtures/ (except PROVENANCE.md itself) is listed.
#[test]
fn fixture_checksums_match_provenance() {
    let table = std::fs::read_to_string(fixture("PROVENANCE.md")).unwrap();
    let block = table
        .split("## SHA-256")
        .nth(1)
        .expect("PROVENANCE.md has a SHA-256 section");
    let mut listed = Vec::new();
    for line in block.lines() {
        let mut parts = line.split_whitespace();
        let (Some(hex), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let bytes = std::fs::read(fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(to_hex(&sha256(&bytes)), hex, "SHA-256 of fixtures/{path}");
        listed.push(path.to_string());
    }
    assert!(
        listed.len() >= 17,
        "only {} rows in the SHA-256 block",
        listed.len()
    );

    let mut on_disk = Vec::new();
    walk(&fixture(""), &mut on_disk);
    let root = fixture("");
    for p in on_disk {
        let rel = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel != "PROVENANCE.md" {
            assert!(
                listed.contains(&rel),
                "fixtures/{rel} has no checksum in PROVENANCE.md"
            );
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn sha256_matches_the_fips_180_examples() {
    assert_eq!(
        to_hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        to_hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    // Two blocks: the 448-bit message of FIPS 180-2, appendix B.2.
    assert_eq!(
        to_hex(&sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (FIPS 180-4, §6.2), written out so the checksum test needs no extra crate;
/// checked against the standard's examples above.
fn sha256(msg: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    // Padding: 0x80, zeros to 56 mod 64, then the bit length big-endian.
    let mut data = msg.to_vec();
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend_from_slice(&((msg.len() as u64) * 8).to_be_bytes());
    for block in data.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (t, word) in block.chunks_exact(4).enumerate() {
            w[t] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for t in 16..64 {
            let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
            let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16]
                .wrapping_add(s0)
                .wrapping_add(w[t - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for t in 0..64 {
            let big_s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(big_s1)
                .wrapping_add(ch)
                .wrapping_add(K[t])
                .wrapping_add(w[t]);
            let big_s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = big_s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}
