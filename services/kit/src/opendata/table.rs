//! A collection's files as an export writes them: records arrive one at a
//! time (from a snapshot's rows) and go straight to the CSV file, and to a
//! JSON array beside it when the collection has one, so memory does not
//! grow with the collection; what the metadata needs (count, newest change,
//! days covered) is kept as they pass. Finishing writes the CSVW document
//! and the DCAT-AP dataset record.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Column, Dataset, Release, csv_header, csv_line, rfc3339, write_dataset};

/// A collection as every release describes it.
#[derive(Debug, Clone, Copy)]
pub struct Collection {
    /// The file stem, e.g. `challenges`.
    pub id: &'static str,
    /// Title per language (BCP 47 tag, text).
    pub titles: &'static [(&'static str, &'static str)],
    /// Description per language.
    pub descriptions: &'static [(&'static str, &'static str)],
    /// The CSV file's columns, in order.
    pub columns: &'static [Column],
    /// Whether the records are also written as a JSON array (`<id>.json`,
    /// one record per line).
    pub json: bool,
}

/// What an export saw of a collection, for its metadata.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// Records written.
    pub records: usize,
    /// The newest record's last change (microseconds since the epoch).
    pub modified: Option<i64>,
    /// The earliest day the records cover.
    pub first_day: Option<time::Date>,
    /// The latest day the records cover.
    pub last_day: Option<time::Date>,
}

impl Seen {
    /// Counts a record last changed at `updated`, covering `days` (first,
    /// last; either may be unknown).
    pub fn add(&mut self, updated: i64, days: (Option<time::Date>, Option<time::Date>)) {
        self.records += 1;
        self.modified = self.modified.max(Some(updated));
        if let Some(first) = days.0 {
            self.first_day = Some(self.first_day.map_or(first, |f| f.min(first)));
        }
        if let Some(last) = days.1 {
            self.last_day = Some(self.last_day.map_or(last, |l| l.max(last)));
        }
    }
}

/// A record as a table takes it: the record (a JSON object keyed by the
/// columns' names), its last change (microseconds) and the days it covers
/// (first, last; either may be unknown).
pub type Entry = (Value, i64, (Option<time::Date>, Option<time::Date>));

/// A collection's files being written.
#[derive(Debug)]
pub struct Table {
    /// What is written.
    collection: Collection,
    /// The release folder.
    dir: PathBuf,
    /// `<id>.csv`, its header written at creation.
    csv: BufWriter<File>,
    /// `<id>.json` when the collection has one, its `[` written.
    json: Option<BufWriter<File>>,
    /// What passed so far.
    seen: Seen,
}

impl Collection {
    /// Starts this collection's files in `dir`.
    pub fn create(&self, dir: &Path) -> std::io::Result<Table> {
        std::fs::create_dir_all(dir)?;
        let mut csv = BufWriter::new(File::create(dir.join(format!("{}.csv", self.id)))?);
        csv.write_all(csv_header(self.columns).as_bytes())?;
        let json = if self.json {
            let mut json = BufWriter::new(File::create(dir.join(format!("{}.json", self.id)))?);
            json.write_all(b"[")?;
            Some(json)
        } else {
            None
        };
        Ok(Table {
            collection: *self,
            dir: dir.to_path_buf(),
            csv,
            json,
            seen: Seen::default(),
        })
    }
}

impl Table {
    /// Writes `record` (a JSON object keyed by the columns' names), last
    /// changed at `updated`, covering `days`.
    pub fn write(
        &mut self,
        record: &Value,
        updated: i64,
        days: (Option<time::Date>, Option<time::Date>),
    ) -> std::io::Result<()> {
        self.csv
            .write_all(csv_line(self.collection.columns, record).as_bytes())?;
        if let Some(json) = &mut self.json {
            json.write_all(if self.seen.records == 0 {
                b"\n"
            } else {
                b",\n"
            })?;
            serde_json::to_writer(&mut *json, record).map_err(std::io::Error::other)?;
        }
        self.seen.add(updated, days);
        Ok(())
    }

    /// A sink for a snapshot's records (`Snapshot::each` and the stores'
    /// `each_*` reads): writes each as `describe` makes it.
    pub fn sink<'t, T, E>(
        &'t mut self,
        describe: impl Fn(&T) -> Entry + 't,
    ) -> impl FnMut(T) -> std::future::Ready<Result<(), E>> + 't
    where
        E: From<std::io::Error>,
    {
        move |item| {
            let (record, updated, days) = describe(&item);
            std::future::ready(self.write(&record, updated, days).map_err(E::from))
        }
    }

    /// Ends the files, then writes their CSVW document and DCAT-AP record
    /// for `release`, reflecting the change-log `sequence`; `extra` names
    /// other files of the folder that publish the same dataset (e.g.
    /// `popolo.json`). Says what was written.
    pub fn finish(
        mut self,
        release: &Release,
        sequence: i64,
        extra: &[(&str, &'static str)],
    ) -> std::io::Result<Seen> {
        self.csv.flush()?;
        let c = self.collection;
        let csv = format!("{}.csv", c.id);
        let json = format!("{}.json", c.id);
        let mut files: Vec<(&str, &'static str)> = vec![(&csv, "text/csv")];
        if let Some(mut writer) = self.json.take() {
            writer.write_all(b"\n]\n")?;
            writer.flush()?;
            files.push((&json, "application/json"));
        }
        files.extend_from_slice(extra);
        let day = |d: Option<time::Date>| d.map(|d| d.to_string());
        let temporal = match (self.seen.first_day, self.seen.last_day) {
            (Some(first), Some(last)) => (day(Some(first)), day(Some(last))),
            // A single known end: the period is that day.
            (Some(only), None) | (None, Some(only)) => (day(Some(only)), day(Some(only))),
            (None, None) => (None, None),
        };
        let dataset = Dataset {
            id: c.id,
            titles: c.titles,
            descriptions: c.descriptions,
            columns: c.columns,
            modified: self.seen.modified.map(rfc3339),
            temporal,
            sequence,
            records: self.seen.records,
        };
        write_dataset(&self.dir, release, &dataset, &files)?;
        Ok(self.seen)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const COLUMNS: &[Column] = &[
        Column::new("name", "string", "Resource name."),
        Column::new("start_date", "date", "First day."),
    ];

    #[test]
    fn a_table_writes_its_files_and_says_what_it_saw() {
        let dir = tempfile::tempdir().unwrap();
        let collection = Collection {
            id: "things",
            titles: &[("en", "Things")],
            descriptions: &[("en", "All the things.")],
            columns: COLUMNS,
            json: true,
        };
        let mut table = collection.create(dir.path()).unwrap();
        let day = |d: &str| {
            Some(
                time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE).unwrap(),
            )
        };
        table
            .write(
                &json!({"name": "things/a", "start_date": "2024-02-29"}),
                7,
                (day("2024-02-29"), None),
            )
            .unwrap();
        table
            .write(
                &json!({"name": "things/b, \"c\""}),
                3,
                (None, day("2025-01-01")),
            )
            .unwrap();
        let release = Release {
            base_url: "https://data.example.gov/".into(),
            publisher_uri: "https://data.example.gov/".into(),
            publisher_name: "Lab".into(),
            licence: super::super::CC_BY_4.into(),
        };
        let seen = table.finish(&release, 12, &[]).unwrap();
        assert_eq!(seen.records, 2);
        assert_eq!(seen.modified, Some(7));
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(
            read("things.csv"),
            "name,start_date\r\nthings/a,2024-02-29\r\n\"things/b, \"\"c\"\"\",\r\n"
        );
        let records: Value = serde_json::from_str(&read("things.json")).unwrap();
        assert_eq!(records[1]["name"], "things/b, \"c\"");
        let record: Value = serde_json::from_str(&read("things.dcat.jsonld")).unwrap();
        assert_eq!(record["owl:versionInfo"], "change-log sequence 12");
        assert_eq!(
            record["dct:temporal"]["dcat:endDate"]["@value"],
            "2025-01-01"
        );
        assert_eq!(record["dcat:distribution"].as_array().unwrap().len(), 2);
    }
}
