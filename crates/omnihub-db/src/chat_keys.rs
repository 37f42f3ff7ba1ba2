//! The address book of one batch of arriving messages: which chat each message belongs to.
//! Every address the batch's messages give is read in one query per instance; people seen for
//! the first time get a chat key, and their addresses are written in one insert.

use std::collections::HashMap;

use diesel::QueryResult;
use omnihub_domain::{first_chat_key, ChatFacts, InboundMessage};

use crate::arrivals::Arriving;
use crate::chat_rows;
use crate::conn::DbConn;

/// Known addresses per (instance, address), and the ones this batch adds.
#[derive(Default)]
pub(crate) struct AddressBook {
    known: HashMap<(String, String), String>,
    added: Vec<(String, String, String)>,
}

/// The addresses that name the person a message is about: for a direct message the chat's
/// and every alternative form; in a group the author's (the group itself is the chat).
fn addresses_of(message: &InboundMessage, facts: &ChatFacts) -> Vec<String> {
    let mut addresses: Vec<String> = Vec::new();
    if !message.is_group() {
        addresses.push(message.chat_id.clone());
    }
    for address in &facts.addresses {
        if !addresses.contains(address) {
            addresses.push(address.clone());
        }
    }
    addresses
}

impl AddressBook {
    /// Reads what the book knows of every address in `batch`.
    pub(crate) fn load(conn: &mut DbConn, batch: &[&Arriving]) -> QueryResult<Self> {
        let mut wanted: HashMap<&str, Vec<String>> = HashMap::new();
        for arriving in batch {
            let addresses = addresses_of(&arriving.message, &arriving.facts);
            if arriving.message.is_group() && addresses.len() < 2 {
                continue;
            }
            wanted
                .entry(arriving.instance.as_str())
                .or_default()
                .extend(addresses);
        }
        let mut book = Self::default();
        for (instance, addresses) in wanted {
            for (address, key) in chat_rows::keys_of(conn, instance, &addresses)? {
                book.known.insert((instance.to_owned(), address), key);
            }
        }
        Ok(book)
    }

    /// The chat of `message`: the chat of any of its addresses already known, else a new one
    /// (the phone JID when the payload states it, else the first address). Addresses not yet
    /// known are added for the person. In a group the chat is the group.
    pub(crate) fn key_of(&mut self, instance: &str, message: &InboundMessage, facts: &ChatFacts) -> String {
        let addresses = addresses_of(message, facts);
        if message.is_group() && addresses.len() < 2 {
            return message.chat_id.clone();
        }
        let lookup = |address: &String| (instance.to_owned(), address.clone());
        let found = addresses.iter().find_map(|a| self.known.get(&lookup(a)).cloned());
        let person = found.unwrap_or_else(|| match &message.phone {
            Some(phone) => format!("{phone}@s.whatsapp.net"),
            None => addresses
                .first()
                .cloned()
                .unwrap_or_else(|| first_chat_key(message)),
        });
        for address in &addresses {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.known.entry(lookup(address)) {
                slot.insert(person.clone());
                self.added
                    .push((instance.to_owned(), address.clone(), person.clone()));
            }
        }
        if message.is_group() {
            message.chat_id.clone()
        } else {
            person
        }
    }

    /// Writes the addresses this batch added.
    pub(crate) fn save(self, conn: &mut DbConn) -> QueryResult<()> {
        chat_rows::remember(conn, &self.added)
    }
}
