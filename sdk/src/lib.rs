//! camera-sdk.
