//! The live objects of one analysis, by id.

use crate::ResourceId;
use crate::model::Resource;

/// The live objects of one analysis by id, each taken out once paired.
///
/// The snapshot's own vector, sorted by id, and the ids beside it (sharing their text):
/// a hash map of 100,000 objects would add about 18 MB beside them.
#[derive(Debug, Default)]
pub(crate) struct LiveObjects {
    /// Sorted, one per object.
    ids: Vec<ResourceId>,
    /// The object of each id, until taken.
    objects: Vec<Option<Resource>>,
}

impl LiveObjects {
    /// Indexes `resources` by id; of several with one id, the last one listed is kept.
    pub(crate) fn new(mut resources: Vec<Resource>) -> Self {
        // Reversed, then sorted stably: of each run of one id, the first is the last listed.
        resources.reverse();
        resources.sort_by(|a, b| a.id.cmp(&b.id));
        resources.dedup_by(|later, first| later.id == first.id);
        let ids = resources.iter().map(|r| r.id.clone()).collect();
        Self {
            ids,
            objects: resources.into_iter().map(Some).collect(),
        }
    }

    fn position(&self, id: &ResourceId) -> Option<usize> {
        self.ids.binary_search(id).ok()
    }

    /// Whether an object with `id` was read (taken or not).
    pub(crate) fn contains(&self, id: &ResourceId) -> bool {
        self.position(id).is_some()
    }

    /// Takes the object with `id` out, if there is one not yet taken.
    pub(crate) fn take(&mut self, id: &ResourceId) -> Option<Resource> {
        let position = self.position(id)?;
        self.objects[position].take()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config_map(name: &str, value: &str) -> Resource {
        Resource::from_object(
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "shop"}, "data": {"k": value}}),
            None,
        )
        .expect("a valid object")
    }

    fn id(name: &str) -> ResourceId {
        ResourceId::namespaced("ConfigMap", "shop", name)
    }

    #[test]
    fn objects_are_found_by_id_once_and_the_last_of_a_repeated_id_wins() {
        let mut live = LiveObjects::new(vec![
            config_map("b", "1"),
            config_map("a", "1"),
            config_map("b", "2"),
            config_map("c", "1"),
            config_map("b", "3"),
        ]);
        assert!(live.contains(&id("a")) && live.contains(&id("b")) && !live.contains(&id("d")));
        assert_eq!(live.take(&id("b")), Some(config_map("b", "3")));
        assert_eq!(live.take(&id("b")), None, "taken once");
        assert!(live.contains(&id("b")), "still known as read");
        assert_eq!(live.take(&id("c")), Some(config_map("c", "1")));
        assert_eq!(live.take(&id("d")), None);
    }
}
