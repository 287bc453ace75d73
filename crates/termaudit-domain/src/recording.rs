//! Where a session's recording stands, from what is stored about it.

/// The state of a session's recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    /// The session was not recorded: its environment's policy does not record it.
    NotRecorded,
    /// Chunks may still arrive (or none has yet): the recording is not finalized.
    Recording,
    /// Finalized: it can be played and downloaded.
    Available,
    /// Retention removed its content.
    Purged,
}

impl RecordingState {
    /// The state of the recording of a session that is `recorded` or not,
    /// given whether its recording was `finalized` and `purged` (neither
    /// while nothing is stored). A purge outranks the finalization it
    /// follows; a session that is not recorded has no recording to speak of.
    pub fn derive(recorded: bool, finalized: bool, purged: bool) -> Self {
        match (recorded, finalized, purged) {
            (false, _, _) => Self::NotRecorded,
            (true, _, true) => Self::Purged,
            (true, true, false) => Self::Available,
            (true, false, false) => Self::Recording,
        }
    }

    /// Whether the recording's content (its markers, its events) can still
    /// be read.
    pub fn has_content(self) -> bool {
        matches!(self, Self::Recording | Self::Available)
    }
}

#[cfg(test)]
mod tests {
    use super::{RecordingState::*, *};

    #[test]
    fn a_session_that_is_not_recorded_has_no_recording_whatever_is_stored() {
        for finalized in [false, true] {
            for purged in [false, true] {
                assert_eq!(RecordingState::derive(false, finalized, purged), NotRecorded);
            }
        }
    }

    #[test]
    fn a_recorded_session_goes_from_recording_to_available_to_purged() {
        assert_eq!(RecordingState::derive(true, false, false), Recording);
        assert_eq!(RecordingState::derive(true, true, false), Available);
        assert_eq!(RecordingState::derive(true, true, true), Purged);
        // A purge is final even where the finalization left no trace.
        assert_eq!(RecordingState::derive(true, false, true), Purged);
    }

    #[test]
    fn only_a_live_or_available_recording_has_content() {
        assert!(Recording.has_content());
        assert!(Available.has_content());
        assert!(!Purged.has_content());
        assert!(!NotRecorded.has_content());
    }
}
